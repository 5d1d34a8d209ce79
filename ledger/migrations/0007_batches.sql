-- Batch jobs. Files uploaded through the gateway live here (never in workflow payloads); a batch's
-- output and error files are rows of kind 'output' / 'error' whose content is built from its items.
CREATE TABLE batch_files (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('input', 'output', 'error')),
  purpose text NOT NULL,
  filename text NOT NULL,
  team text,
  gateway_key_id text,
  batch_id text,
  bytes bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  content text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'input') = (content IS NOT NULL))
);

-- One row per batch: Groq's batch object, plus how it runs (mode) and who owns it.
CREATE TABLE batches (
  id text PRIMARY KEY,
  team text NOT NULL,
  gateway_key_id text NOT NULL,
  input_file_id text NOT NULL REFERENCES batch_files (id),
  endpoint text NOT NULL,
  completion_window text NOT NULL,
  window_ms bigint NOT NULL CHECK (window_ms > 0),
  mode text NOT NULL CHECK (mode IN ('realtime', 'groq-batch')),
  skip_invalid_lines boolean NOT NULL DEFAULT false,
  status text NOT NULL CHECK (
    status IN ('validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled')
  ),
  paused boolean NOT NULL DEFAULT false,
  metadata jsonb,
  errors jsonb,
  output_file_id text,
  error_file_id text,
  upstream_batch_id text,
  total integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  in_progress_at timestamptz,
  finalizing_at timestamptz,
  completed_at timestamptz,
  failed_at timestamptz,
  expires_at timestamptz NOT NULL,
  expired_at timestamptz,
  cancelling_at timestamptz,
  cancelled_at timestamptz
);

CREATE INDEX batches_team_created ON batches (team, created_at DESC);

-- One row per valid input line. The request id `batch:<batch id>:<line>` keys the item's reservations
-- (`<request id>#<attempt>`), so a retried or replayed item finds its earlier attempts and never bills twice.
CREATE TABLE batch_items (
  batch_id text NOT NULL REFERENCES batches (id),
  line integer NOT NULL CHECK (line >= 1),
  seq integer NOT NULL CHECK (seq >= 0),
  custom_id text NOT NULL,
  body jsonb NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed', 'cancelled', 'expired')),
  attempts integer NOT NULL DEFAULT 0,
  status_code integer,
  upstream_request_id text,
  response jsonb,
  error jsonb,
  cost_nanos bigint NOT NULL DEFAULT 0 CHECK (cost_nanos >= 0),
  finished_at timestamptz,
  PRIMARY KEY (batch_id, seq),
  UNIQUE (batch_id, custom_id)
);
