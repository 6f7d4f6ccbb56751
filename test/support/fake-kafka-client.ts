import type avro from 'avsc';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type {
  BatchControl,
  BatchRunOptions,
  BatchSource,
  GroupJoin,
  KafkaClient,
  MessageHeaders,
  OutboundMessage,
  SourceBatch,
  SourceCrash,
  SourceMessage,
  Tail,
} from '../../shared/kafka/port.js';
import { AvroSerde } from '../../shared/registry/serde.js';

/** A serde whose registry knows one writer schema, id 1, and which skips the registry check. */
export class FakeSerde extends AvroSerde {
  constructor(writer: avro.Type) {
    super({ getSchema: async () => writer } as unknown as SchemaRegistry, 'http://registry.invalid');
  }

  override async verify(): Promise<void> {}

  /** The Confluent wire format with schema id 1. */
  static frame(type: avro.Type, value: unknown): Buffer {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(1, 1);
    return Buffer.concat([header, type.toBuffer(value)]);
  }
}

/** A batch control that records what the runtime did with its batch. */
/** An error of the fake client itself, as a real client's connection or coordinator errors are. */
export class FakeClientError extends Error {
  constructor(
    message: string,
    readonly code = 'ECONNREFUSED',
  ) {
    super(message);
  }
}

export class FakeControl implements BatchControl {
  resolved: string[] = [];
  paused = 0;
  resumed = 0;
  running = true;

  resolveOffset(offset: string): void {
    this.resolved.push(offset);
  }
  async commitOffsetsIfNecessary(): Promise<void> {}
  async heartbeat(): Promise<void> {}
  isRunning(): boolean {
    return this.running;
  }
  isStale(): boolean {
    return false;
  }
  pause(): () => void {
    this.paused++;
    return () => this.resumed++;
  }
}

export function message(offset: number, value: Buffer | null, headers: MessageHeaders = {}, key = 'k'): SourceMessage {
  return { key: Buffer.from(key), value, headers, offset: String(offset), timestamp: '0' };
}

/**
 * The runtime's port without Kafka: deliver() hands a batch to the running runtime as a client
 * would; sends are recorded by topic.
 */
export class FakeKafkaClient implements KafkaClient {
  readonly sent: Array<{ topic: string; messages: OutboundMessage[] }> = [];
  private run: BatchRunOptions | undefined;
  private joined: ((join: GroupJoin) => void) | undefined;
  crashed: ((crash: SourceCrash) => void) | undefined;
  subscribed: readonly string[] = [];

  batchSource(): BatchSource {
    return {
      connect: async () => {},
      subscribe: async (topics) => void (this.subscribed = topics),
      run: async (run) => {
        this.run = run;
        this.joined?.({ isLeader: false, memberAssignment: {} });
      },
      commit: async () => {},
      seek: () => {},
      pause: () => {},
      onJoined: (listener) => void (this.joined = listener),
      onCrashed: (listener) => void (this.crashed = listener),
      groupMembers: async () => 1,
      disconnect: async () => {},
    };
  }

  publisher() {
    return {
      connect: async () => {},
      send: async (topic: string, messages: OutboundMessage[]) => void this.sent.push({ topic, messages }),
      sendBatch: async (batches: ReadonlyArray<{ topic: string; messages: OutboundMessage[] }>) => void this.sent.push(...batches),
      onDisconnect: () => {},
      disconnect: async () => {},
    };
  }

  tail(): Tail {
    throw new Error('the fake client has no tail');
  }

  isClientError(error: unknown): boolean {
    return error instanceof FakeClientError;
  }

  async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    return new Map(topics.map((topic) => [topic, 1]));
  }

  async deliver(batch: Omit<SourceBatch, 'highWatermark'>, control = new FakeControl()): Promise<FakeControl> {
    if (!this.run) throw new Error('the runtime is not running');
    await this.run.eachBatch({ ...batch, highWatermark: String(batch.messages.length) }, control);
    return control;
  }
}
