import type { InboundEvent, EventHandler } from '../consumer/types.js';
import type { Pool } from '../db.js';
import { PermanentError, errorCode, errorMessage, isRetriable } from '../errors.js';
import type { MessageHeaders, Publisher } from '../kafka/port.js';
import type { TopicDeclaration } from '../kafka/topology.js';
import type { AvroSerde } from '../registry/serde.js';
import { CoalescingSender } from './coalescing-sender.js';
import { ReplyError } from './errors.js';
import { REQUEST_REPLY_HEADERS, decodeDeadline, decodeReplyPartition, errorReplyHeaders, rawHeader, type ReplyErrorFields } from './headers.js';

/** What a replier reports, for its metrics. */
export interface ReplierObserver {
  /** A request past its deadline, dropped unanswered. */
  expired?(): void;
  /** A request answered before (redelivered): its stored reply was sent again. */
  repeated?(): void;
  replied?(outcome: 'answer' | 'error'): void;
}

export interface ReplierOptions<Req, Rep> {
  /** The group's publisher (its sends go out together: CoalescingSender). */
  publisher: Publisher;
  serde: AvroSerde;
  requestTopic: TopicDeclaration<Req>;
  /** The one topic replies go to; a request naming another is refused (its values have this topic's schema). */
  replyTopic: TopicDeclaration<Rep>;
  /**
   * Where replies are remembered per correlation id (request_reply_answers), so a redelivered
   * request gets the reply sent the first time. Without it, it is answered again.
   */
  answers?: { pool: Pool; group: string };
  /** Computes the answer; a ReplyError becomes an error reply, another permanent error a 500 error reply. Retriable errors are retried by the runtime. */
  answer: (request: InboundEvent<Req>) => Promise<Rep>;
  observer?: ReplierObserver;
}

/** A request without what a reply needs: not retriable, it goes to the group's DLQ. */
export class NotARequestError extends PermanentError {}

interface EncodedReply {
  value: Buffer | null;
  error: ReplyErrorFields | null;
}

/**
 * The replying side of request-reply: an event handler for the consumer runtime. It reads Spring's
 * headers (the partition as Spring's int or NestJS' string), drops a request past its
 * request-deadline (counted), answers on the reply topic and partition the request names with the
 * correlation id's bytes echoed as they came, and sends errors as typed error replies.
 */
export class Replier<Req, Rep> {
  private readonly sender: CoalescingSender;

  constructor(private readonly options: ReplierOptions<Req, Rep>) {
    this.sender = new CoalescingSender(options.publisher);
  }

  readonly handle: EventHandler<Req> = async (request) => {
    const headers = request.rawHeaders;
    const correlation = rawHeader(headers, REQUEST_REPLY_HEADERS.correlationId);
    const replyTopic = rawHeader(headers, REQUEST_REPLY_HEADERS.replyTopic)?.toString();
    if (correlation === undefined || correlation.length === 0 || !replyTopic) {
      throw new NotARequestError(`${request.topic} message without ${REQUEST_REPLY_HEADERS.correlationId} or ${REQUEST_REPLY_HEADERS.replyTopic}`);
    }
    if (replyTopic !== this.options.replyTopic.name) {
      throw new NotARequestError(`reply topic ${replyTopic} is not ${this.options.replyTopic.name}, the one this replier answers on`);
    }
    const deadline = decodeDeadline(rawHeader(headers, REQUEST_REPLY_HEADERS.deadline));
    if (deadline !== undefined && Date.now() > deadline) {
      this.options.observer?.expired?.();
      request.logger.warn({ deadline: new Date(deadline).toISOString() }, 'request past its deadline; dropped unanswered');
      return;
    }
    const correlationBytes = Buffer.isBuffer(correlation) ? correlation : Buffer.from(correlation);
    const reply = await this.remembered(correlationBytes, await this.compute(request));
    const partition = decodeReplyPartition(rawHeader(headers, REQUEST_REPLY_HEADERS.replyPartition));
    const replyHeaders: MessageHeaders = { ...(reply.error ? errorReplyHeaders(reply.error) : {}), [REQUEST_REPLY_HEADERS.correlationId]: correlationBytes };
    await this.sender.send(replyTopic, { key: request.key, value: reply.value, headers: replyHeaders, ...(partition === undefined ? {} : { partition }) });
    this.options.observer?.replied?.(reply.error ? 'error' : 'answer');
  };

  private async compute(request: InboundEvent<Req>): Promise<EncodedReply> {
    try {
      return { value: await this.options.serde.encode(this.options.replyTopic, await this.options.answer(request)), error: null };
    } catch (error) {
      if (error instanceof ReplyError) return { value: null, error: { code: error.code, status: error.status, message: error.message } };
      // A dependency away: the runtime retries, within the deadline (past it the retry is dropped).
      if (isRetriable(error)) throw error;
      request.logger.error({ err: error }, 'request failed; answered with an error reply');
      return { value: null, error: { code: errorCode(error), status: 500, message: errorMessage(error) } };
    }
  }

  /** The reply stored for this correlation id: this one when it is the first, else the first one's. */
  private async remembered(correlationId: Buffer, reply: EncodedReply): Promise<EncodedReply> {
    const { answers } = this.options;
    if (!answers) return reply;
    // One statement: the no-op update makes RETURNING give the stored row when there is one.
    const { rows } = await answers.pool.query<EncodedReply & { first: boolean }>(
      `INSERT INTO request_reply_answers AS a (consumer_group, correlation_id, value, error) VALUES ($1, $2, $3, $4)
       ON CONFLICT (consumer_group, correlation_id) DO UPDATE SET consumer_group = a.consumer_group
       RETURNING a.value, a.error, (xmax = 0) AS first`,
      [answers.group, correlationId, reply.value, reply.error && JSON.stringify(reply.error)],
    );
    const stored = rows[0]!;
    if (!stored.first) this.options.observer?.repeated?.();
    return { value: stored.value, error: stored.error };
  }
}

/** Deletes remembered replies older than `retentionMs` (a redelivery comes within the topic's retention). */
export async function pruneAnswers(pool: Pool, retentionMs = 24 * 3600_000): Promise<number> {
  const result = await pool.query('DELETE FROM request_reply_answers WHERE created_at < now() - make_interval(secs => $1)', [retentionMs / 1000]);
  return result.rowCount ?? 0;
}
