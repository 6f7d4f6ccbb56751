-- The inventory service's own tables (idempotent; applied at every start).

-- Stock per SKU. `available` can be reserved; the CHECK is the last line against overselling.
CREATE TABLE IF NOT EXISTS stock (
  sku text PRIMARY KEY,
  available int NOT NULL CHECK (available >= 0),
  reserved int NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Seed SKU-001..SKU-030 (the order service's catalogue sells the same SKUs). DO NOTHING: a restart
-- never resets stock.
INSERT INTO stock (sku, available)
SELECT format('SKU-%s', lpad(n::text, 3, '0')), 100 FROM generate_series(1, 30) AS n
ON CONFLICT DO NOTHING;

-- What each order holds, so a cancel releases exactly what was reserved.
CREATE TABLE IF NOT EXISTS stock_reservations (
  order_id text NOT NULL,
  sku text NOT NULL REFERENCES stock (sku),
  quantity int NOT NULL CHECK (quantity > 0),
  status text NOT NULL CHECK (status IN ('RESERVED', 'RELEASED')),
  cause_event_id text NOT NULL,
  reserved_at timestamptz NOT NULL DEFAULT now(),
  released_at timestamptz,
  PRIMARY KEY (order_id, sku)
);
