import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import { PermanentError, PoisonPillError, TransientError, errorMessage } from '../errors.js';
import { valueSubject, type TopicDeclaration } from '../kafka/topology.js';

/** Confluent wire format: magic byte 0, a 4-byte big-endian schema id, then the Avro body. */
const MAGIC_BYTE = 0;
const HEADER_LENGTH = 5;

/** Reads the Avro body after the header: avsc's decode() result (offset -1 when the bytes ran out). */
type Reader = (bytes: Buffer) => { value: unknown; offset: number };

function statusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number') {
    return error.status;
  }
  return undefined;
}

/**
 * Avro values in the Confluent wire format, with schemas held by the registry. Values are always
 * read with the consumer's own schema (resolving from the writer's), so producers can evolve first.
 * Decoding failures are classified: undecodable bytes are poison pills, a registry outage is transient.
 */
export class AvroSerde {
  private readonly ids = new Map<string, Promise<number>>();
  private readonly readers = new Map<string, Promise<Reader>>();
  /** Readers built, by topic and writer schema id: looked up per message, so without building a key string. */
  private readonly ready = new Map<TopicDeclaration, Map<number, Reader>>();

  constructor(
    readonly registry: SchemaRegistry,
    readonly url: string,
  ) {}

  static connect(url: string): AvroSerde {
    return new AvroSerde(new SchemaRegistry({ host: url, retry: { retries: 3, initialRetryTimeInSecs: 0.2 } }), url);
  }

  /**
   * Fails unless the registry answers with the Confluent API at its URL. Consumers call it at
   * start-up: after that, a 404 for a schema id means the id is unknown (a poison pill), not a
   * wrong URL that would send every message to the DLQ.
   */
  async verify(): Promise<void> {
    const url = this.url;
    const response = await fetch(`${url.replace(/\/+$/, '')}/subjects`).catch((error: unknown) => {
      throw new TransientError(`schema registry unreachable at ${url}: ${errorMessage(error)}`, { cause: error });
    });
    const body: unknown = response.ok ? await response.json().catch(() => undefined) : undefined;
    if (!Array.isArray(body)) {
      throw new PermanentError(`${url} does not serve the Confluent schema registry API (GET /subjects gave ${response.status})`);
    }
  }

  /** Registers the topic's schema under `<topic>-value` (idempotent) and returns its id. */
  register(topic: TopicDeclaration): Promise<number> {
    const subject = valueSubject(topic);
    let id = this.ids.get(subject);
    if (!id) {
      id = this.registry
        .register({ type: SchemaType.AVRO, schema: JSON.stringify(topic.schema.definition) }, { subject })
        .then((registered) => registered.id);
      id.catch(() => this.ids.delete(subject));
      this.ids.set(subject, id);
    }
    return id;
  }

  async encode<T>(topic: TopicDeclaration<T>, value: T): Promise<Buffer> {
    const problems: string[] = [];
    topic.schema.type.isValid(value, {
      errorHook: (path, fieldValue) => problems.push(`${path.join('.') || '(root)'}=${JSON.stringify(fieldValue)}`),
    });
    if (problems.length > 0) {
      throw new PermanentError(`value does not match ${topic.schema.name}: ${problems.join(', ')}`);
    }
    return this.registry.encode(await this.register(topic), value);
  }

  async decode<T>(topic: TopicDeclaration<T>, bytes: Buffer | null): Promise<T> {
    const schemaId = this.schemaIdOf(topic, bytes);
    const read = this.ready.get(topic)?.get(schemaId) ?? (await this.readerFor(topic, schemaId));
    return this.read(topic, schemaId, read, bytes!);
  }

  /**
   * decode() without a promise, for bulk consumers' hot path: undefined while the writer schema is
   * not fetched yet (call decode() then). Throws PoisonPillError as decode() does.
   */
  decodeCached<T>(topic: TopicDeclaration<T>, bytes: Buffer | null): T | undefined {
    const schemaId = this.schemaIdOf(topic, bytes);
    const read = this.ready.get(topic)?.get(schemaId);
    return read && this.read(topic, schemaId, read, bytes!);
  }

  private schemaIdOf(topic: TopicDeclaration, bytes: Buffer | null): number {
    if (!bytes || bytes.length < HEADER_LENGTH || bytes[0] !== MAGIC_BYTE) {
      throw new PoisonPillError('not-framed', `value on ${topic.name} is not in the Confluent Avro wire format`);
    }
    return bytes.readUInt32BE(1);
  }

  private read<T>(topic: TopicDeclaration<T>, schemaId: number, read: Reader, bytes: Buffer): T {
    let problem: unknown;
    try {
      // decode() reads in place from the header's end (fromBuffer would need a view of the body).
      const { value, offset } = read(bytes);
      if (offset === bytes.length) return value as T;
      problem = offset < 0 ? 'truncated' : `${bytes.length - offset} trailing bytes`;
    } catch (error) {
      problem = error;
    }
    throw new PoisonPillError('invalid-value', `value on ${topic.name} does not decode with schema ${schemaId}: ${errorMessage(problem)}`, {
      cause: problem,
    });
  }

  /** Resolvers are cached per (topic, writer schema): building one per message would dominate decoding. */
  private readerFor(topic: TopicDeclaration, schemaId: number): Promise<Reader> {
    const key = `${topic.name}/${schemaId}`;
    let reader = this.readers.get(key);
    if (!reader) {
      reader = this.buildReader(topic, schemaId);
      reader.then(
        (read) => {
          let byId = this.ready.get(topic);
          if (!byId) this.ready.set(topic, (byId = new Map()));
          byId.set(schemaId, read);
        },
        () => this.readers.delete(key),
      );
      this.readers.set(key, reader);
    }
    return reader;
  }

  private async buildReader(topic: TopicDeclaration, schemaId: number): Promise<Reader> {
    let writer: avro.Type;
    try {
      writer = (await this.registry.getSchema(schemaId)) as unknown as avro.Type;
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) {
        throw new PoisonPillError('unknown-schema', `schema id ${schemaId} on ${topic.name} is unknown to the registry`, {
          cause: error,
        });
      }
      throw new TransientError(`schema registry unavailable: ${errorMessage(error)}`, { cause: error });
    }
    const reader = topic.schema.type;
    if (reader.equals(writer)) return (bytes) => reader.decode(bytes, HEADER_LENGTH);
    let resolver: ReturnType<avro.Type['createResolver']>;
    try {
      resolver = reader.createResolver(writer);
    } catch (error) {
      throw new PoisonPillError('invalid-value', `schema ${schemaId} cannot be read as ${topic.schema.name}`, { cause: error });
    }
    return (bytes) => reader.decode(bytes, HEADER_LENGTH, resolver);
  }
}
