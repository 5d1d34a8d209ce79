-- Speech to text, text to speech and the Responses API: what a usage row counts, and its endpoint.
-- Chat rows keep the defaults (tokens, chat.completions); quantity is the billed audio seconds or the
-- characters of the other units (0 for tokens: the token columns hold those).
ALTER TABLE usage_records ADD COLUMN endpoint text NOT NULL DEFAULT 'chat.completions';
ALTER TABLE usage_records ADD COLUMN unit text NOT NULL DEFAULT 'tokens'
  CHECK (unit IN ('tokens', 'audio_seconds', 'characters'));
ALTER TABLE usage_records ADD COLUMN quantity bigint NOT NULL DEFAULT 0 CHECK (quantity >= 0);

CREATE INDEX usage_records_period_endpoint ON usage_records (period, endpoint);

-- Speech-to-text uploads and speech answers, by reference: the gateway stores an upload here (sealed with the payload codec
-- when the deployment encrypts payloads) and the workflow passes only its id to the call activity, which
-- deletes it once the request is over; a speech answer goes the other way, the gateway reading and deleting it.
CREATE TABLE audio_blobs (
  id text PRIMARY KEY,
  team text,
  filename text NOT NULL,
  bytes bigint NOT NULL CHECK (bytes >= 0),
  sealed bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Groq's audio limits (audio seconds per hour and per day), shared by every process: one row per
-- admitted request and bucket, its seconds corrected to the billed seconds once Groq answers.
CREATE TABLE audio_buckets (
  bucket text PRIMARY KEY
);

CREATE TABLE audio_admissions (
  lease_id text NOT NULL,
  bucket text NOT NULL REFERENCES audio_buckets (bucket),
  at bigint NOT NULL,
  seconds bigint NOT NULL CHECK (seconds >= 0),
  PRIMARY KEY (lease_id, bucket)
);

CREATE INDEX audio_admissions_bucket_at ON audio_admissions (bucket, at);
