-- The order service's own tables (idempotent; applied at every start).

-- The catalogue: what can be ordered and at which price. Prices come from here, never from the client.
CREATE TABLE IF NOT EXISTS catalogue (
  sku text PRIMARY KEY,
  name text NOT NULL
);
CREATE TABLE IF NOT EXISTS catalogue_prices (
  sku text NOT NULL REFERENCES catalogue (sku),
  currency text NOT NULL,
  unit_price_cents bigint NOT NULL CHECK (unit_price_cents > 0),
  PRIMARY KEY (sku, currency)
);
-- Seed SKU-001..SKU-030 (inventory seeds the same SKUs' stock). DO NOTHING keeps later price changes.
INSERT INTO catalogue (sku, name)
SELECT format('SKU-%s', lpad(n::text, 3, '0')), format('Catalogue item %s', n) FROM generate_series(1, 30) AS n
ON CONFLICT DO NOTHING;
INSERT INTO catalogue_prices (sku, currency, unit_price_cents)
SELECT format('SKU-%s', lpad(n::text, 3, '0')), c.currency, round((490 + n * 135) * c.rate)
FROM generate_series(1, 30) AS n
CROSS JOIN (VALUES ('EUR', 1.0), ('USD', 1.1), ('GBP', 0.85)) AS c (currency, rate)
ON CONFLICT DO NOTHING;

-- Status moves only by the workflow's table (workflow-table.ts); the CHECK lists its states.
CREATE TABLE IF NOT EXISTS orders (
  id uuid PRIMARY KEY,
  customer_id text NOT NULL,
  email text NOT NULL,
  currency text NOT NULL,
  total_cents bigint NOT NULL,
  status text NOT NULL,
  status_reason text,
  correlation_id text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS order_lines (
  order_id uuid NOT NULL REFERENCES orders (id),
  line_no int NOT NULL,
  sku text NOT NULL,
  quantity int NOT NULL CHECK (quantity > 0),
  unit_price_cents bigint NOT NULL,
  PRIMARY KEY (order_id, line_no)
);
-- What each downstream service did for an order (inventory, email, analytics, compensation); the
-- first report of a step wins, so a redelivered report changes nothing.
CREATE TABLE IF NOT EXISTS order_steps (
  order_id uuid NOT NULL REFERENCES orders (id),
  step text NOT NULL,
  outcome text NOT NULL,
  detail jsonb,
  handled_by text,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, step)
);
-- The API client that placed an order (shared/clients); other clients do not see it. Checked first:
-- ALTER TABLE locks the table even when it changes nothing. Orders from before clients have none.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'client_id') THEN
    ALTER TABLE orders ADD COLUMN client_id uuid;
  END IF;
END
$$;

-- A retried POST with the same Idempotency-Key (of the same client, within 24 h) gets the first
-- answer back; expired keys are ignored, taken over, and pruned by the service. The table from
-- before clients, whose keys no client owns, is replaced.
DO $$
BEGIN
  IF to_regclass('order_idempotency_keys') IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'order_idempotency_keys' AND column_name = 'client_id') THEN
    DROP TABLE order_idempotency_keys;
  END IF;
END
$$;
CREATE TABLE IF NOT EXISTS order_idempotency_keys (
  client_id uuid NOT NULL,
  idempotency_key text NOT NULL,
  request_hash text NOT NULL,
  order_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS order_idempotency_keys_created_at ON order_idempotency_keys (created_at);
-- The answer is made from order_id (shared/idempotency), no longer stored.
ALTER TABLE order_idempotency_keys DROP COLUMN IF EXISTS response;

-- The workflow's states (workflow-table.ts). The constraint is replaced only when it lists other
-- states: ALTER TABLE locks the table even when it changes nothing.
DO $$
DECLARE
  wanted text := 'CHECK ((status = ANY (ARRAY[''PENDING''::text, ''PAYMENT_AUTHORIZED''::text, ''RESERVED''::text, ''CONFIRMED''::text, ''VOIDING''::text, ''REJECTED''::text, ''CANCELLING''::text, ''REFUNDING''::text, ''CANCELLED''::text])))';
  current text;
BEGIN
  SELECT pg_get_constraintdef(oid) INTO current FROM pg_constraint WHERE conrelid = 'orders'::regclass AND conname = 'orders_status_check';
  IF current IS DISTINCT FROM wanted THEN
    ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_status_check;
    ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN
      ('PENDING', 'PAYMENT_AUTHORIZED', 'RESERVED', 'CONFIRMED', 'VOIDING', 'REJECTED', 'CANCELLING', 'REFUNDING', 'CANCELLED'));
  END IF;
  -- The card token the authorization uses (the provider's token, not a card number); the current
  -- step's attempt (its timeout retries it); the payment as the provider last answered.
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'card_token') THEN
    ALTER TABLE orders ADD COLUMN card_token text, ADD COLUMN step_attempt int NOT NULL DEFAULT 1,
      ADD COLUMN payment_status text, ADD COLUMN payment_charge_id text, ADD COLUMN payment_updated_at timestamptz;
  END IF;
END
$$;

-- One row per workflow transition (and per late answer the table handles in place): who, when,
-- why, and which event.
CREATE TABLE IF NOT EXISTS order_transitions (
  id bigserial PRIMARY KEY,
  order_id uuid NOT NULL REFERENCES orders (id),
  from_status text,
  to_status text NOT NULL,
  trigger text NOT NULL,
  reason text,
  effects text[] NOT NULL DEFAULT '{}',
  attempt int NOT NULL DEFAULT 1,
  event_id text,
  topic text,
  actor text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS order_transitions_order ON order_transitions (order_id, id);
