-- The exports service's own tables (idempotent; applied at every start, after shared/sql/tasks.sql).
-- An export is a task of queue 'exports' (its parameters in tasks.params); it only reads the order
-- service's and batch ingestion's tables.

-- The CSV, one row per committed chunk, written under the claim's fence in the transaction that
-- stores the task's checkpoint: any instance serves the result, and a chunk is never written twice.
CREATE TABLE IF NOT EXISTS export_chunks (
  export_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  seq       int NOT NULL,
  fence     bigint NOT NULL,
  rows      int NOT NULL,
  data      text NOT NULL,
  PRIMARY KEY (export_id, seq)
);

-- A retried POST /exports with the same Idempotency-Key gets the first answer back.
CREATE TABLE IF NOT EXISTS export_idempotency_keys (
  idempotency_key text PRIMARY KEY,
  request_hash    text NOT NULL,
  export_id       uuid NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
