-- The email service's own tables (idempotent; applied at every start).

-- One row per order whose confirmation went out; written in the transaction that claims the event.
CREATE TABLE IF NOT EXISTS email_sends (
  order_id text PRIMARY KEY,
  cause_event_id text NOT NULL,
  message_id text NOT NULL,
  handled_by text NOT NULL,
  sent_at timestamptz NOT NULL DEFAULT now()
);

-- Transactional outbox (shared/outbox) for the order.steps report.
CREATE TABLE IF NOT EXISTS email_outbox (
  id bigserial PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  topic text NOT NULL,
  message_key text NOT NULL,
  payload jsonb NOT NULL,
  headers jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  failed_at timestamptz,
  error text
);
CREATE INDEX IF NOT EXISTS email_outbox_unsent ON email_outbox (id) WHERE sent_at IS NULL AND failed_at IS NULL;
