-- The payments service's own record of each order's charge at the provider (the provider's records
-- are the truth; this is what the service learnt, in the transaction that published it).
CREATE TABLE IF NOT EXISTS payments (
  order_id text PRIMARY KEY,
  charge_id text,
  status text NOT NULL,
  amount_cents bigint NOT NULL,
  currency text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
