-- Request-reply (shared/request-reply/), idempotent.
-- The requester's side: a request that timed out waits here for its late reply, so whichever API
-- instance is asked (GET /requests/:id) serves it. outcome is null until the reply came.
CREATE TABLE IF NOT EXISTS request_reply_results (
  correlation_id text PRIMARY KEY,
  deadline timestamptz NOT NULL,
  outcome jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  answered_at timestamptz
);
CREATE INDEX IF NOT EXISTS request_reply_results_created ON request_reply_results (created_at);

-- The replier's side: the reply sent for a correlation id, sent again as it was for a redelivered
-- request (idempotent per correlation id: one answer, however often asked).
CREATE TABLE IF NOT EXISTS request_reply_answers (
  consumer_group text NOT NULL,
  correlation_id bytea NOT NULL,
  value bytea,
  -- An error reply's code, status and message; null for an answer.
  error jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, correlation_id)
);
CREATE INDEX IF NOT EXISTS request_reply_answers_created ON request_reply_answers (created_at);
