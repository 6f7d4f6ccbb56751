-- API clients (shared/clients): who calls the order, exports and webhooks APIs. Only a key's
-- SHA-256 is stored; the key itself is shown once, when it is made.
CREATE TABLE IF NOT EXISTS api_clients (
  id         uuid PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  key_hash   text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
