-- Tables of the shared consumer runtime; applied by every service that uses them (idempotent).

-- Idempotency: an event's effect and this row commit in one transaction, so a redelivered event
-- finds its row and has no second effect.
CREATE TABLE IF NOT EXISTS processed_events (
  consumer_group text NOT NULL,
  event_id text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, event_id)
);
-- Pruning reads by age (pruneProcessedEvents).
CREATE INDEX IF NOT EXISTS processed_events_age ON processed_events (consumer_group, processed_at);

-- Ordered retries: per group and key, the messages in the retry path, oldest first. Only the head
-- of a key's queue may be handled; the others follow it through the retry tiers.
CREATE TABLE IF NOT EXISTS retry_key_queue (
  consumer_group text NOT NULL,
  message_key text NOT NULL,
  event_id text NOT NULL,
  seq bigserial NOT NULL,
  enqueued_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, message_key, event_id)
);
CREATE INDEX IF NOT EXISTS retry_key_queue_head ON retry_key_queue (consumer_group, message_key, seq);
-- When a message of the queue was last delivered (each hop through a tier updates it): a row unseen
-- for long belongs to a lost message and is released (key-order.ts).
ALTER TABLE retry_key_queue ADD COLUMN IF NOT EXISTS seen_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX IF NOT EXISTS retry_key_queue_seen ON retry_key_queue (consumer_group, seen_at);
