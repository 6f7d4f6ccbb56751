import { PoisonPillError } from '../errors.js';
import type { SourceMessage } from '../kafka/port.js';
import type { Logger } from '../logger.js';
import type { AvroSerde } from '../registry/serde.js';
import type { Delivery } from './failure-router.js';
import type { Failures } from './failures.js';
import { DecodedEvent, type BatchOrigin } from './inbound-event.js';
import type { Route } from './route.js';

/** Turns fetched messages into events; a poison pill goes to the DLQ here and yields no event. */
export class EventDecoder {
  constructor(
    private readonly serde: AvroSerde,
    private readonly failures: Failures,
    private readonly logger: Logger,
  ) {}

  /**
   * The hot path: no promise when the value's writer schema is known and its bytes are sound.
   * Undefined otherwise (a schema not fetched yet, a poison pill): then call decode().
   */
  decodeNow(route: Route, message: SourceMessage, from: BatchOrigin): DecodedEvent | undefined {
    const { source } = route.registration;
    let value: unknown;
    try {
      value = this.serde.decodeCached(source, message.value);
    } catch {
      return undefined;
    }
    return value === undefined ? undefined : new DecodedEvent(value, source.name, message, from, this.logger);
  }

  /** The full path: fetches the writer schema when needed; undefined for a poison pill (sent to the DLQ). */
  async decode(route: Route, delivery: Delivery): Promise<DecodedEvent | undefined> {
    const { source } = route.registration;
    const { message } = delivery;
    let value: unknown;
    try {
      value = await this.serde.decode(source, message.value);
    } catch (error) {
      if (!(error instanceof PoisonPillError)) throw error;
      await this.failures.poison(source, delivery, error);
      return undefined;
    }
    return new DecodedEvent(value, source.name, message, delivery, this.logger);
  }
}
