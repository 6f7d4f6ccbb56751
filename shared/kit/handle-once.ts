import { claimEvent } from '../consumer/processed-events.js';
import type { InboundEvent } from '../consumer/types.js';
import { withTransaction, type Pool, type PoolClient } from '../db.js';
import type { ConsumerGroupDeclaration } from '../kafka/topology.js';
import { feed } from '../instrumentation/events.js';

/** What handleOnce answers for an event its group has handled before. */
export const DUPLICATE = 'duplicate';
export type Duplicate = typeof DUPLICATE;

/**
 * Runs `work` in a transaction that also claims the event for the group, or answers DUPLICATE
 * (having logged and counted it) when the claim exists: the effect and the claim commit together,
 * so a redelivered event has no second effect.
 */
export type HandleOnce = <T>(event: InboundEvent<unknown>, work: (tx: PoolClient) => Promise<T>) => Promise<T | Duplicate>;

/** handleOnce for one consumer group, whose id comes from its declaration. */
export function handleOnceFor(pool: Pool, group: ConsumerGroupDeclaration): HandleOnce {
  const { groupId } = group;
  return async (event, work) => {
    const result = await withTransaction(pool, async (tx) =>
      (await claimEvent(tx, groupId, event.eventId)) ? { done: await work(tx) } : undefined,
    );
    if (result) return result.done;
    feed.consumerDuplicate.publish({ group: groupId, topic: event.topic, eventId: event.eventId });
    event.logger.info({ group: groupId }, 'already handled; redelivery ignored');
    return DUPLICATE;
  };
}
