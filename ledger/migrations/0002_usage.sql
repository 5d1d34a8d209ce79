-- One row per upstream attempt: (request_id, attempt) is unique, so recording is idempotent.
CREATE TABLE usage_records (
  request_id text NOT NULL,
  attempt integer NOT NULL CHECK (attempt >= 0),
  period text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  team text,
  model text NOT NULL,
  key_name text NOT NULL,
  key_version integer NOT NULL,
  gateway_key_id text,
  reservation_id text,
  prompt_tokens bigint NOT NULL CHECK (prompt_tokens >= 0),
  completion_tokens bigint NOT NULL CHECK (completion_tokens >= 0),
  cached_tokens bigint NOT NULL DEFAULT 0 CHECK (cached_tokens >= 0 AND cached_tokens <= prompt_tokens),
  cost_nanos bigint NOT NULL CHECK (cost_nanos >= 0),
  batch boolean NOT NULL DEFAULT false,
  upstream_request_id text,
  http_status integer,
  outcome text NOT NULL CHECK (outcome IN ('success', 'error', 'unknown', 'cut')),
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (request_id, attempt)
);

CREATE INDEX usage_records_period_team ON usage_records (period, team);
CREATE INDEX usage_records_period_model ON usage_records (period, model);
CREATE INDEX usage_records_key ON usage_records (key_name, key_version);

-- Requests the governor refused before calling upstream, so reports can count refusals by reason.
CREATE TABLE refusals (
  request_id text PRIMARY KEY,
  period text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  team text,
  reason text NOT NULL,
  detail text,
  at timestamptz NOT NULL
);

CREATE INDEX refusals_period_reason ON refusals (period, reason);

-- Budget alerts already sent: the primary key makes each threshold alert once per scope and period.
CREATE TABLE alerts_sent (
  scope text NOT NULL,
  period text NOT NULL,
  threshold integer NOT NULL CHECK (threshold > 0),
  sent_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, period, threshold)
);

-- Paused teams. kind 'admin': paused by a person until unpaused (period ''); kind 'budget': paused for
-- one budget period (it lifts by itself when the period changes).
CREATE TABLE team_pauses (
  team text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('admin', 'budget')),
  period text NOT NULL DEFAULT '',
  reason text,
  paused_by text NOT NULL,
  paused_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (team, kind, period),
  CHECK ((kind = 'admin') = (period = '')),
  CHECK (kind = 'admin' OR period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$')
);
