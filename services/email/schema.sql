-- The email service's own tables (idempotent; applied at every start).

-- One row per order whose confirmation was attempted. It is committed before the first send
-- (sent_at NULL: the mail may or may not be out), and sent_at is set in the transaction that
-- claims the event once the SMTP server has accepted the mail. A row with sent_at NULL that stays
-- so is an order without a confirmation (its event dead-lettered, or an attempt still running).
CREATE TABLE IF NOT EXISTS email_sends (
  order_id text PRIMARY KEY,
  cause_event_id text NOT NULL,
  message_id text NOT NULL,
  handled_by text NOT NULL,
  -- The default stands for writers that insert only once the mail is out (an instance of an older
  -- version during an upgrade); an attempt inserts NULL.
  sent_at timestamptz DEFAULT now()
);

-- Tables created when a row was only written with its send: sent_at becomes optional, once.
-- Guarded: ALTER TABLE takes its exclusive lock before looking, and would queue behind sends in flight.
DO $$
BEGIN
  IF (SELECT attnotnull FROM pg_attribute WHERE attrelid = 'email_sends'::regclass AND attname = 'sent_at') THEN
    ALTER TABLE email_sends ALTER COLUMN sent_at DROP NOT NULL;
  END IF;
END
$$;
