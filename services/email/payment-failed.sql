-- One row per order whose "payment failed" mail went out; written in the transaction that claims the event.
CREATE TABLE IF NOT EXISTS email_payment_failures (
  order_id text PRIMARY KEY,
  cause_event_id text NOT NULL,
  handled_by text NOT NULL,
  sent_at timestamptz NOT NULL DEFAULT now()
);
