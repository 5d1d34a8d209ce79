-- The egress journal: what a worker's egress process (workers/egress) sent to Groq and what Groq
-- answered, per claimed reservation. The egress runs beside the worker and outlives it: when the
-- worker dies mid-call, the egress still receives Groq's answer and writes it here, so the attempt's
-- next run books that answer instead of calling Groq again.
--   sending   the egress is calling Groq; `lease_until` bounds how long (its call timeout and a margin)
--   answered  Groq answered: status, headers and body are kept until the attempt is booked
--   failed    the call ended without an answer (connection broke, timed out): its outcome is unknown
--   fenced    a recovering run got here first: the egress never sent it and never will
--   abandoned the lease ran out with no answer (the egress died too): its outcome is unknown
CREATE TABLE upstream_calls (
  reservation_id text PRIMARY KEY,
  state text NOT NULL CHECK (state IN ('sending', 'answered', 'failed', 'fenced', 'abandoned')),
  egress text,
  key_version integer NOT NULL DEFAULT 0,
  lease_until timestamptz NOT NULL,
  status_code integer,
  headers jsonb,
  body text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
