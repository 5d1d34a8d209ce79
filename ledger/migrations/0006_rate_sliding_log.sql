-- Strict sliding-window minute limits. One row per admitted request and bucket: the admission time
-- (epoch ms on the caller's clock) and its tokens (the estimate, replaced by the actual count when the
-- call is corrected). A request fits a bucket's RPM/TPM at `now` when the rows with at > now - 60000 plus
-- this request stay within the limit. Rows are read and written only under the bucket row's lock
-- (rate_buckets ... FOR UPDATE) and pruned once they are well out of the window. The fixed-window
-- minute_* columns of rate_buckets and minute_start of rate_leases are no longer read.
CREATE TABLE rate_admissions (
  bucket text NOT NULL,
  lease_id text NOT NULL,
  at bigint NOT NULL,
  tokens bigint NOT NULL CHECK (tokens >= 0),
  PRIMARY KEY (bucket, lease_id)
);

CREATE INDEX rate_admissions_bucket_at ON rate_admissions (bucket, at);
