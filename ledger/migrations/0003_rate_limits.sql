-- Shared rate-limit state. Times are epoch milliseconds on the callers' clocks (the store takes `now` as a
-- parameter), held in bigint. One row per bucket ('team:chatbot', 'model:llama-3.1-8b-instant', ...) holds
-- the current fixed minute and day windows (requests and tokens) and the latest upstream feedback from
-- Groq's x-ratelimit-* / retry-after headers. Admission locks the rows of every bucket it touches.
CREATE TABLE rate_buckets (
  bucket text PRIMARY KEY,
  minute_start bigint NOT NULL DEFAULT 0,
  minute_requests bigint NOT NULL DEFAULT 0 CHECK (minute_requests >= 0),
  minute_tokens bigint NOT NULL DEFAULT 0 CHECK (minute_tokens >= 0),
  day_start bigint NOT NULL DEFAULT 0,
  day_requests bigint NOT NULL DEFAULT 0 CHECK (day_requests >= 0),
  day_tokens bigint NOT NULL DEFAULT 0 CHECK (day_tokens >= 0),
  -- upstream feedback per dimension: the remaining count Groq reported at *_observed_at, what this
  -- governor admitted since (*_consumed), the limit (gives the refill rate) and the reset time after
  -- which the observation says nothing any more; blocked_until comes from retry-after
  upstream_tokens_observed_at bigint,
  upstream_limit_tokens bigint,
  upstream_remaining_tokens bigint,
  upstream_tokens_reset_at bigint,
  upstream_tokens_consumed bigint NOT NULL DEFAULT 0,
  upstream_requests_observed_at bigint,
  upstream_limit_requests bigint,
  upstream_remaining_requests bigint,
  upstream_requests_reset_at bigint,
  upstream_requests_consumed bigint NOT NULL DEFAULT 0,
  upstream_blocked_until bigint,
  updated_at bigint NOT NULL DEFAULT 0
);

-- One row per admitted request and bucket. Open rows (not released, not expired) are the bucket's
-- concurrency; the window starts let a later token correction land in the window it was counted in.
CREATE TABLE rate_leases (
  lease_id text NOT NULL,
  bucket text NOT NULL,
  tokens bigint NOT NULL CHECK (tokens >= 0),
  acquired_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  minute_start bigint NOT NULL,
  day_start bigint NOT NULL,
  released_at bigint,
  actual_tokens bigint CHECK (actual_tokens >= 0),
  PRIMARY KEY (lease_id, bucket)
);

CREATE INDEX rate_leases_open ON rate_leases (bucket, expires_at) WHERE released_at IS NULL;
CREATE INDEX rate_leases_expiry ON rate_leases (expires_at);
