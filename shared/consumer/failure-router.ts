import { errorCode, errorMessage } from '../errors.js';
import type { MessageHeaders, Publisher, SourceMessage } from '../kafka/port.js';
import { dlqTopicName, retryPolicyOf, retryTopicName, type ConsumerGroupDeclaration, type TopicDeclaration } from '../kafka/topology.js';
import { instanceId } from '../logger.js';
import { backoffDelay } from '../retry/backoff.js';
import { HEADERS, headersToStrings, withoutFailureHistory } from './headers.js';

/** Where a message was read from: its source topic or one of the group's retry topics. */
export interface Delivery {
  topic: string;
  partition: number;
  message: SourceMessage;
}

/** min(base * 2^(retry-1), max), less up to jitterRatio of it so that retries of a burst spread out. */
export function backoffDelayMs(policy: ReturnType<typeof retryPolicyOf>, retry: number, random = Math.random): number {
  return backoffDelay({ initialMs: policy.baseDelayMs, maxMs: policy.maxDelayMs, factor: 2, jitter: policy.jitterRatio }, retry, random);
}

function shortStack(error: unknown): string {
  return error instanceof Error && error.stack ? error.stack.split('\n').slice(0, 6).join('\n') : '';
}

/**
 * Writes failed messages to the group's retry tiers or DLQ, keeping the original key, value bytes and
 * headers and adding where the message came from and why it failed. The caller commits the source
 * offset only after these sends resolve (acks from all replicas), so nothing is lost in between.
 */
export class FailureRouter {
  readonly policy: ReturnType<typeof retryPolicyOf>;

  constructor(
    private readonly publisher: Publisher,
    private readonly group: ConsumerGroupDeclaration,
  ) {
    this.policy = retryPolicyOf(group);
  }

  get tiers(): number {
    return this.policy.attempts - 1;
  }

  /**
   * Sends the message to retry tier `tier` (1-based), due after that tier's backoff.
   * `failedAttempts` is how many deliveries have failed so far (unchanged for a parked message).
   */
  async retry(source: TopicDeclaration, delivery: Delivery, tier: number, failedAttempts: number, error?: unknown): Promise<void> {
    const dueAt = Date.now() + backoffDelayMs(this.policy, tier);
    const headers = this.failureHeaders(source, delivery, error);
    headers[HEADERS.attempt] = String(failedAttempts);
    headers[HEADERS.dueAt] = String(dueAt);
    if (error === undefined) headers[HEADERS.parked] = 'true';
    else delete headers[HEADERS.parked];
    // Tiers count from 1 and end at the last one: a retry past it waits in the last tier again.
    const clamped = Math.min(Math.max(1, Math.trunc(tier) || 1), this.tiers);
    await this.send(retryTopicName(source, this.group.groupId, clamped), delivery.message, headers);
  }

  async deadLetter(source: TopicDeclaration, delivery: Delivery, attempts: number, error: unknown): Promise<void> {
    const headers = this.failureHeaders(source, delivery, error);
    headers[HEADERS.attempt] = String(attempts);
    delete headers[HEADERS.dueAt];
    delete headers[HEADERS.parked];
    await this.send(dlqTopicName(source, this.group.groupId), delivery.message, headers);
  }

  private failureHeaders(source: TopicDeclaration, delivery: Delivery, error: unknown): Record<string, string> {
    const headers = headersToStrings(delivery.message.headers);
    if (delivery.topic === source.name) withoutFailureHistory(headers);
    const now = String(Date.now());
    // The original position is recorded on the first failure and kept through every tier.
    headers[HEADERS.originalTopic] ??= source.name;
    headers[HEADERS.originalPartition] ??= String(delivery.partition);
    headers[HEADERS.originalOffset] ??= delivery.message.offset;
    headers[HEADERS.originalTimestamp] ??= delivery.message.timestamp;
    headers[HEADERS.consumerGroup] = this.group.groupId;
    headers[HEADERS.instance] = instanceId;
    if (error !== undefined) {
      headers[HEADERS.firstFailureAt] ??= now;
      headers[HEADERS.lastFailureAt] = now;
      headers[HEADERS.errorClass] = error instanceof Error ? error.name : typeof error;
      headers[HEADERS.errorCode] = errorCode(error);
      headers[HEADERS.errorMessage] = errorMessage(error).slice(0, 1000);
      headers[HEADERS.errorStack] = shortStack(error);
    }
    return headers;
  }

  /** Resolves once all in-sync replicas have it (the publisher sends with acks = all). */
  private async send(topic: string, message: SourceMessage, headers: MessageHeaders): Promise<void> {
    await this.publisher.send(topic, [{ key: message.key, value: message.value, headers }]);
  }
}
