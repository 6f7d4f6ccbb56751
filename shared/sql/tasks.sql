-- Long-running tasks (shared/tasks/): leased by one worker at a time, checkpointed per chunk.
-- Idempotent: applied at every start by whoever creates or works tasks.

CREATE TABLE IF NOT EXISTS tasks (
  id              uuid PRIMARY KEY,
  -- Which worker pool works it (a service's name): pools of different services share the table.
  queue           text NOT NULL,
  params          jsonb NOT NULL,
  state           text NOT NULL CHECK (state IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
  -- The fencing counter: raised by every claim and by a cancel. A worker writes only while the
  -- counter is still the one its claim returned, so one that lost its lease writes nothing.
  fence           bigint NOT NULL DEFAULT 0,
  lease_owner     text,
  lease_until     timestamptz,
  -- Not claimed before this (a failed attempt's back-off).
  run_after       timestamptz NOT NULL DEFAULT now(),
  -- Failed attempts since it was created or retried; FAILED once they reach the pool's limit.
  attempts        int NOT NULL DEFAULT 0,
  -- Where the next chunk starts (the handler's keyset cursor); NULL before the first chunk.
  checkpoint      jsonb,
  done            bigint NOT NULL DEFAULT 0,
  total           bigint,
  chunks          int NOT NULL DEFAULT 0,
  rows_per_second double precision,
  error           text,
  error_code      text,
  -- Raised by every change a reader can see (not by heartbeats): the ETag and the SSE event id.
  version         bigint NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,
  finished_at     timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tasks_queued ON tasks (queue, run_after) WHERE state = 'QUEUED';
CREATE INDEX IF NOT EXISTS tasks_leased ON tasks (queue, lease_until) WHERE state = 'RUNNING';

-- Every claim: who, with which fence, from how many rows done (0 = from the start). A claim
-- starting from a checkpoint is a resume.
CREATE TABLE IF NOT EXISTS task_claims (
  task_id      uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  fence        bigint NOT NULL,
  owner        text NOT NULL,
  resumed_from bigint NOT NULL,
  claimed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (task_id, fence)
);

CREATE OR REPLACE FUNCTION tasks_versioned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  IF (NEW.state, NEW.done, NEW.total, NEW.attempts, NEW.error, NEW.rows_per_second)
     IS DISTINCT FROM (OLD.state, OLD.done, OLD.total, OLD.attempts, OLD.error, OLD.rows_per_second) THEN
    NEW.version := OLD.version + 1;
  END IF;
  RETURN NEW;
END
$$;

-- One notification per visible change or claim, delivered at commit: "<id> <version> <state> <fence> <queue>".
-- Readers (SSE) follow progress by it; workers hear of queued tasks and of a cancel of their own.
CREATE OR REPLACE FUNCTION tasks_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.version <> OLD.version OR NEW.fence <> OLD.fence THEN
    PERFORM pg_notify('task_changes', concat_ws(' ', NEW.id, NEW.version, NEW.state, NEW.fence, NEW.queue));
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER tasks_versioned BEFORE UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION tasks_versioned();
CREATE OR REPLACE TRIGGER tasks_notify AFTER INSERT OR UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION tasks_notify();
