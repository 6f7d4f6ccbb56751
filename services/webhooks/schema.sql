-- The webhooks service's own tables (idempotent; applied at every start).

-- A client's receiving URL and the event types it asked for. Disabled (410 Gone) endpoints are kept, visible.
CREATE TABLE IF NOT EXISTS webhook_endpoints (
  id text PRIMARY KEY,
  url text NOT NULL,
  event_types text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz,
  disabled_reason text,
  -- Since when every attempt failed (NULL after a success): failing for too long disables the endpoint.
  failing_since timestamptz
);
-- The API client that registered the endpoint (shared/clients); other clients do not see it.
-- Checked first: ALTER TABLE locks the table even when it changes nothing.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'webhook_endpoints' AND column_name = 'client_id') THEN
    ALTER TABLE webhook_endpoints ADD COLUMN client_id uuid;
  END IF;
END
$$;

-- Signing secrets, kept in clear because they sign (a hash could only verify). A rotated-out secret
-- signs beside the new one until expires_at.
CREATE TABLE IF NOT EXISTS webhook_secrets (
  endpoint_id text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  secret text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  PRIMARY KEY (endpoint_id, secret)
);

-- One row per event: its id is the webhook-id, its body the exact bytes every attempt signs.
CREATE TABLE IF NOT EXISTS webhook_messages (
  id text PRIMARY KEY,
  event_type text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One message to one endpoint: the durable state of its attempts. pending → succeeded | dead
-- (attempts exhausted, or 410) | dropped (its endpoint was disabled). leased_until: an attempt is
-- in flight until then; past it, the attempt's worker is taken for dead.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id text PRIMARY KEY,
  endpoint_id text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  message_id text NOT NULL REFERENCES webhook_messages (id),
  state text NOT NULL DEFAULT 'pending',
  attempts int NOT NULL DEFAULT 0,
  -- Attempts before the last replay: the schedule starts again from there.
  replayed_from int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  leased_until timestamptz,
  last_status int,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (endpoint_id, message_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at DESC);
-- For pruning: settled deliveries by age, and whether a message still has any delivery.
CREATE INDEX IF NOT EXISTS webhook_deliveries_settled ON webhook_deliveries (updated_at) WHERE state <> 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_message ON webhook_deliveries (message_id);

-- Every attempt, written when it starts: one without a status or error is one whose worker stopped.
CREATE TABLE IF NOT EXISTS webhook_attempts (
  delivery_id text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt int NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  webhook_timestamp bigint NOT NULL,
  finished_at timestamptz,
  status_code int,
  error text,
  handled_by text NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);
