-- The platform scheduler's jobs (shared/scheduler/), applied by every process that schedules or
-- dispatches (idempotent). One row per key: replacing a job rewrites its row, so "the job for this
-- key" always has one answer.
CREATE TABLE IF NOT EXISTS scheduled_jobs (
  id bigserial PRIMARY KEY,
  job_type text NOT NULL,
  job_key text NOT NULL UNIQUE,
  due_at timestamptz NOT NULL,
  topic text NOT NULL,
  message_key text NOT NULL,
  -- The event's value as JSON: the outbox relay encodes it to Avro when it publishes.
  payload jsonb NOT NULL,
  event_id text NOT NULL,
  correlation_id text,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dispatched', 'cancelled', 'failed')),
  attempts int NOT NULL DEFAULT 0,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  dispatched_at timestamptz
);
-- What dispatchers claim (oldest due first) and sleep on (the next due time).
CREATE INDEX IF NOT EXISTS scheduled_jobs_due ON scheduled_jobs (due_at, id) WHERE state = 'pending';
