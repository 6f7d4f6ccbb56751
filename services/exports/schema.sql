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
-- Stored uncompressed: compressing a 1 MB chunk (pglz) took as long as reading it, and a chunk
-- lives only until its export is fetched. Checked first: ALTER TABLE locks the table even when it
-- changes nothing.
DO $$
BEGIN
  IF (SELECT attstorage FROM pg_attribute WHERE attrelid = 'export_chunks'::regclass AND attname = 'data') <> 'e' THEN
    ALTER TABLE export_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
  END IF;
END
$$;

-- A CSV field as RFC 4180 has it, and as PostgreSQL's COPY … (FORMAT csv) writes it: quoted when
-- it holds a comma, a quote, CR or LF (quotes doubled); NULL empty, an empty string "". No longer
-- used (COPY writes the CSV now); kept for instances of the previous release during a rollout.
CREATE OR REPLACE FUNCTION export_csv_field(value text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE
    WHEN value IS NULL THEN ''
    WHEN value = '' THEN '""'
    WHEN value ~ '[",\r\n]' THEN '"' || replace(value, '"', '""') || '"'
    ELSE value
  END;

-- A retried POST /exports with the same Idempotency-Key (of the same client, within 24 h) gets the
-- first answer back. The table from before clients, whose keys no client owns, is replaced.
DO $$
BEGIN
  IF to_regclass('export_idempotency_keys') IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'export_idempotency_keys' AND column_name = 'client_id') THEN
    DROP TABLE export_idempotency_keys;
  END IF;
END
$$;
CREATE TABLE IF NOT EXISTS export_idempotency_keys (
  client_id       uuid NOT NULL,
  idempotency_key text NOT NULL,
  request_hash    text NOT NULL,
  export_id       uuid NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS export_idempotency_keys_created_at ON export_idempotency_keys (created_at);
