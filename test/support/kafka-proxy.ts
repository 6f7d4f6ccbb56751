/**
 * A Kafka-aware TCP proxy for fault tests: it sits between a client and the brokers and can lose the
 * answer to a produce request after the broker has appended its batch, which is what a client sees
 * when the network fails between the append and the acknowledgement (freezing the broker cannot do
 * this: the request then never reaches the log).
 *
 * Brokers advertise their own addresses, so the proxy rewrites every Metadata response: each broker
 * is announced at a local port of the proxy that forwards to it. A client bootstrapped at `address`
 * then sends its produce requests through the proxy. Group coordinators (FindCoordinator) are not
 * rewritten: a consumer's group traffic goes to the broker directly, which these tests do not fault.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

const API_PRODUCE = 0;
const API_METADATA = 3;
/** The Metadata versions whose layout rewriteMetadata knows (non-flexible; kafkajs 2.x uses 0–6). */
const MAX_METADATA_VERSION = 6;

type Mode = 'pass' | 'lose-next-produce' | 'cut-off';

interface PendingRequest {
  apiKey: number;
  apiVersion: number;
  /** The broker gets the request, the client never gets its answer. */
  lose: boolean;
}

/** Splits a byte stream into Kafka frames (INT32 size, then that many bytes), size prefix included. */
class FrameSplitter {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Buffer[] = [];
    while (this.buffered.length >= 4) {
      const end = 4 + this.buffered.readInt32BE(0);
      if (this.buffered.length < end) break;
      frames.push(this.buffered.subarray(0, end));
      this.buffered = this.buffered.subarray(end);
    }
    return frames;
  }
}

function kafkaString(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(2);
  length.writeInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function int32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  return bytes;
}

/**
 * What identifies a produce request across its retries: per topic-partition, the record batch's
 * producer id, first sequence number and record count (timestamps may differ between retries).
 */
function produceBatches(frame: Buffer, version: number): string {
  if (version < 3) throw new Error(`Produce v${version} is not supported by the test proxy`);
  // Request header v1: size, api key, api version, correlation id, then the client id.
  let offset = 14 + Math.max(frame.readInt16BE(12), 0);
  // transactional_id (NULLABLE_STRING), acks (INT16), timeout (INT32).
  offset += 2 + Math.max(frame.readInt16BE(offset), 0) + 2 + 4;
  const batches: string[] = [];
  const topicCount = frame.readInt32BE(offset);
  offset += 4;
  for (let t = 0; t < topicCount; t++) {
    const nameLength = frame.readInt16BE(offset);
    const topic = frame.toString('utf8', offset + 2, offset + 2 + nameLength);
    offset += 2 + nameLength;
    const partitionCount = frame.readInt32BE(offset);
    offset += 4;
    for (let p = 0; p < partitionCount; p++) {
      const partition = frame.readInt32BE(offset);
      const size = frame.readInt32BE(offset + 4);
      const batch = offset + 8;
      // RecordBatch: base offset INT64, length INT32, leader epoch INT32, magic INT8, crc INT32,
      // attributes INT16, last offset delta INT32, two timestamps INT64, then producer id INT64,
      // producer epoch INT16, base sequence INT32, record count INT32.
      const producerId = frame.readBigInt64BE(batch + 43);
      batches.push(`${topic}/${partition}: producer ${producerId}, sequence ${frame.readInt32BE(batch + 53)}, ${frame.readInt32BE(batch + 57)} records`);
      offset = batch + Math.max(size, 0);
    }
  }
  return batches.sort().join('; ');
}

export class KafkaProxy {
  /** Produce requests forwarded to a broker whose answer was then thrown away. */
  lostProduceResponses = 0;
  private mode: Mode = 'pass';
  /** One local listener per broker, by the broker's advertised `host:port`. */
  private readonly listeners = new Map<string, Promise<{ server: Server; port: number }>>();
  private readonly sockets = new Set<Socket>();
  private seedPort = 0;
  /** The produce request whose answers are lost, as produceBatches() describes it. */
  private lostBatches: string | undefined;

  private constructor(private readonly seed: string) {}

  /** A proxy in front of the cluster whose bootstrap broker is `seed` (`host:port`). */
  static async start(seed: string): Promise<KafkaProxy> {
    const proxy = new KafkaProxy(seed);
    proxy.seedPort = await proxy.listenerFor(seed);
    return proxy;
  }

  /** The bootstrap address to give the client instead of the broker's. */
  get address(): string {
    return `127.0.0.1:${this.seedPort}`;
  }

  /**
   * The next produce request is forwarded, and once the broker has answered, the answer is dropped
   * and the client's connection cut: the batch is in the log, the client cannot know it. The
   * client's retries of that request (the same producer id, partitions, first sequence numbers and
   * counts) are treated alike, so the send fails once its retries are spent; the first other
   * produce request passes, and so do all after it.
   */
  loseNextProduce(): void {
    this.mode = 'lose-next-produce';
    this.lostBatches = undefined;
  }

  /** A network partition: every connection is cut and new ones are refused. */
  cutOff(): void {
    this.mode = 'cut-off';
    for (const socket of this.sockets) socket.destroy();
  }

  /** Back to forwarding everything. */
  heal(): void {
    this.mode = 'pass';
    this.lostBatches = undefined;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const listeners = await Promise.all(this.listeners.values());
    await Promise.all(listeners.map(({ server }) => new Promise((resolve) => server.close(resolve))));
  }

  private listenerFor(upstream: string): Promise<number> {
    let listener = this.listeners.get(upstream);
    if (!listener) {
      const [host, port] = [upstream.slice(0, upstream.lastIndexOf(':')), Number(upstream.slice(upstream.lastIndexOf(':') + 1))];
      const server = createServer((client) => this.accept(client, host, port));
      listener = new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const address = server.address();
          resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
        });
      });
      this.listeners.set(upstream, listener);
    }
    return listener.then(({ port }) => port);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private accept(client: Socket, host: string, port: number): void {
    if (this.mode === 'cut-off') {
      client.destroy();
      return;
    }
    const broker = createConnection({ host, port });
    this.track(client);
    this.track(broker);
    const cut = () => {
      client.destroy();
      broker.destroy();
    };
    client.on('error', cut).on('close', cut);
    broker.on('error', cut).on('close', cut);

    const pending = new Map<number, PendingRequest>();
    const requests = new FrameSplitter();
    client.on('data', (chunk: Buffer) => {
      for (const frame of requests.push(chunk)) {
        // Request header v1: api key INT16, api version INT16, correlation id INT32, client id.
        const apiKey = frame.readInt16BE(4);
        const apiVersion = frame.readInt16BE(6);
        pending.set(frame.readInt32BE(8), { apiKey, apiVersion, lose: apiKey === API_PRODUCE && this.losesAnswerTo(frame, apiVersion) });
        broker.write(frame);
      }
    });

    // Responses go back in the order they came; rewriting Metadata may have to open a listener first.
    let replies = Promise.resolve();
    const responses = new FrameSplitter();
    broker.on('data', (chunk: Buffer) => {
      for (const frame of responses.push(chunk)) {
        replies = replies.then(() => this.reply(frame, pending, client, cut)).catch((error: unknown) => {
          client.destroy(error instanceof Error ? error : new Error(String(error)));
          broker.destroy();
        });
      }
    });
  }

  private losesAnswerTo(produce: Buffer, version: number): boolean {
    if (this.mode === 'cut-off' || (this.mode === 'pass' && this.lostBatches === undefined)) return false;
    const batches = produceBatches(produce, version);
    if (this.mode === 'lose-next-produce') {
      this.mode = 'pass';
      this.lostBatches = batches;
    }
    if (batches === this.lostBatches) return true;
    // Another request: the client has given that one up.
    this.lostBatches = undefined;
    return false;
  }

  private async reply(frame: Buffer, pending: Map<number, PendingRequest>, client: Socket, cut: () => void): Promise<void> {
    const correlationId = frame.readInt32BE(4);
    const request = pending.get(correlationId);
    pending.delete(correlationId);
    if (request?.lose) {
      this.lostProduceResponses++;
      cut();
      return;
    }
    if (client.destroyed) return;
    client.write(request?.apiKey === API_METADATA ? await this.rewriteMetadata(frame, request.apiVersion) : frame);
  }

  /** The same Metadata response with every broker's host and port replaced by the proxy's listener for it. */
  private async rewriteMetadata(frame: Buffer, version: number): Promise<Buffer> {
    if (version > MAX_METADATA_VERSION) throw new Error(`Metadata v${version} is not supported by the test proxy`);
    // Response header: correlation id; v3+ starts with throttle_time_ms.
    let offset = version >= 3 ? 12 : 8;
    const brokerCount = frame.readInt32BE(offset);
    offset += 4;
    const parts: Buffer[] = [frame.subarray(4, offset)];
    for (let i = 0; i < brokerCount; i++) {
      const nodeId = frame.readInt32BE(offset);
      const hostLength = frame.readInt16BE(offset + 4);
      const host = frame.toString('utf8', offset + 6, offset + 6 + hostLength);
      offset += 6 + hostLength;
      const port = frame.readInt32BE(offset);
      offset += 4;
      const localPort = await this.listenerFor(`${host}:${port}`);
      parts.push(int32(nodeId), kafkaString('127.0.0.1'), int32(localPort));
      if (version >= 1) {
        // rack: NULLABLE_STRING, kept as it is.
        const rackLength = frame.readInt16BE(offset);
        const end = offset + 2 + Math.max(rackLength, 0);
        parts.push(frame.subarray(offset, end));
        offset = end;
      }
    }
    parts.push(frame.subarray(offset));
    const body = Buffer.concat(parts);
    return Buffer.concat([int32(body.length), body]);
  }

  /** For failure messages. */
  toString(): string {
    return `KafkaProxy(${this.address} → ${this.seed}, ${this.mode}, ${this.lostProduceResponses} produce answers lost: ${this.lostBatches ?? 'none'})`;
  }
}
