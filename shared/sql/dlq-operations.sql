-- The DLQ operation log (idempotent; shared/dlq/operation-log.ts). Who replayed or purged what, when, and where it went.

-- One row per command run and DLQ (group + source topic). A row with finished_at NULL is a run that
-- stopped part way: dlq_replayed_messages then holds what was actually sent.
CREATE TABLE IF NOT EXISTS dlq_operations (
  id bigserial PRIMARY KEY,
  operation text NOT NULL CHECK (operation IN ('replay', 'purge')),
  actor text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  consumer_group text NOT NULL,
  source_topic text NOT NULL,
  dlq_topic text NOT NULL,
  -- replay: the group's retry topic the messages went to; purge: NULL.
  target_topic text,
  -- The filter and flags as given, e.g. {"key": "ord-1", "force": false}.
  selection jsonb NOT NULL,
  -- replay: messages sent; purge: messages deleted.
  message_count integer NOT NULL DEFAULT 0,
  -- replay: messages held back by the loop guard (max replays reached, or replayed before).
  refused_count integer NOT NULL DEFAULT 0,
  -- purge: per partition, the offset the DLQ now starts at ({"0": "12", "3": "4"}).
  purged_up_to jsonb
);
CREATE INDEX IF NOT EXISTS dlq_operations_dlq ON dlq_operations (dlq_topic, started_at);

-- Each DLQ message a replay sent, so the same DLQ entry is not replayed twice by accident and a
-- purge can select what was handled (--replayed).
CREATE TABLE IF NOT EXISTS dlq_replayed_messages (
  operation_id bigint NOT NULL REFERENCES dlq_operations (id),
  dlq_topic text NOT NULL,
  dlq_partition integer NOT NULL,
  dlq_offset bigint NOT NULL,
  replayed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (operation_id, dlq_topic, dlq_partition, dlq_offset)
);
CREATE INDEX IF NOT EXISTS dlq_replayed_messages_position ON dlq_replayed_messages (dlq_topic, dlq_partition, dlq_offset);

-- What the entry is, independently of where the DLQ keeps it (operation-log.ts, entryKey): the
-- original message's topic/partition/offset and the entry's replay count. A DLQ topic deleted and
-- created again reuses offsets from 0; this key does not. NULL on rows written before it existed.
ALTER TABLE dlq_replayed_messages ADD COLUMN IF NOT EXISTS entry_key text;
CREATE INDEX IF NOT EXISTS dlq_replayed_messages_entry ON dlq_replayed_messages (dlq_topic, entry_key);
