-- The email service's own tables (idempotent; applied at every start).

-- One row per order whose confirmation went out; written in the transaction that claims the event.
CREATE TABLE IF NOT EXISTS email_sends (
  order_id text PRIMARY KEY,
  cause_event_id text NOT NULL,
  message_id text NOT NULL,
  handled_by text NOT NULL,
  sent_at timestamptz NOT NULL DEFAULT now()
);
