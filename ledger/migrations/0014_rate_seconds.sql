-- The sliding minute from per-second totals. Until now each admission counted the rows of
-- rate_admissions in the minute window, bucket by bucket: a minute of admissions, so its cost grew with the
-- request rate (at 60 requests/s, 3,600 rows per bucket and request, read under the bucket's lock).
-- rate_admission_seconds keeps each bucket's admissions and tokens per second (epoch second of `at`),
-- maintained by triggers on rate_admissions, so every writer of the log keeps it right: admissions,
-- token corrections, pruning, maintenance. The window's total is then the totals of its whole seconds
-- (at most 61 rows) plus the rows of the one second the window starts in: the same sum as before, exactly.
--
-- The migration locks the log while it fills the totals from the rows already there, so no admission
-- made by a process still running the previous version is missed between the fill and the triggers.

-- The epoch second of an epoch-millisecond time (floor division, also before 1970).
CREATE FUNCTION governor_second(p_at bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT (p_at - (((p_at % 1000) + 1000) % 1000)) / 1000 $$;

CREATE TABLE rate_admission_seconds (
  bucket text NOT NULL,
  second bigint NOT NULL,
  requests bigint NOT NULL CHECK (requests >= 0),
  tokens bigint NOT NULL CHECK (tokens >= 0),
  PRIMARY KEY (bucket, second)
);

LOCK TABLE rate_admissions IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO rate_admission_seconds (bucket, second, requests, tokens)
SELECT bucket, governor_second(at), count(*), sum(tokens) FROM rate_admissions GROUP BY 1, 2;

-- rows added: their seconds' totals grow (in key order, as the bucket locks are taken)
CREATE FUNCTION governor_rate_seconds_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rate_admission_seconds AS s (bucket, second, requests, tokens)
  SELECT bucket, governor_second(at), count(*), sum(tokens) FROM added GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (bucket, second) DO UPDATE
    SET requests = s.requests + EXCLUDED.requests, tokens = s.tokens + EXCLUDED.tokens;
  RETURN NULL;
END
$$;

-- rows removed: their seconds' totals shrink; a second with no admission left goes
CREATE FUNCTION governor_rate_seconds_remove() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM removed) THEN
    RETURN NULL;
  END IF;
  UPDATE rate_admission_seconds s SET requests = s.requests - d.n, tokens = s.tokens - d.t
    FROM (SELECT bucket, governor_second(at) AS second, count(*) AS n, sum(tokens) AS t
            FROM removed GROUP BY 1, 2) d
   WHERE s.bucket = d.bucket AND s.second = d.second;
  DELETE FROM rate_admission_seconds s
   USING (SELECT DISTINCT bucket, governor_second(at) AS second FROM removed) d
   WHERE s.bucket = d.bucket AND s.second = d.second AND s.requests = 0;
  RETURN NULL;
END
$$;

-- rows changed: a token correction (the rows keep their bucket, lease and time) moves each second's
-- tokens by the difference, in one statement; any other change has the seconds it touched counted again
-- from the log
CREATE FUNCTION governor_rate_seconds_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM added a FULL JOIN removed r USING (bucket, lease_id) WHERE a.at IS DISTINCT FROM r.at
  ) THEN
    UPDATE rate_admission_seconds s SET tokens = s.tokens + d.delta
      FROM (SELECT a.bucket, governor_second(a.at) AS second, sum(a.tokens - r.tokens) AS delta
              FROM added a JOIN removed r USING (bucket, lease_id) GROUP BY 1, 2) d
     WHERE s.bucket = d.bucket AND s.second = d.second AND d.delta <> 0;
    RETURN NULL;
  END IF;
  CREATE TEMPORARY TABLE IF NOT EXISTS governor_touched_seconds (bucket text, second bigint) ON COMMIT DROP;
  INSERT INTO governor_touched_seconds
  SELECT bucket, governor_second(at) FROM removed UNION SELECT bucket, governor_second(at) FROM added;
  DELETE FROM rate_admission_seconds s USING governor_touched_seconds t
   WHERE s.bucket = t.bucket AND s.second = t.second;
  INSERT INTO rate_admission_seconds (bucket, second, requests, tokens)
  SELECT t.bucket, t.second, count(*), sum(a.tokens)
    FROM governor_touched_seconds t
    JOIN rate_admissions a ON a.bucket = t.bucket AND a.at >= t.second * 1000 AND a.at < (t.second + 1) * 1000
   GROUP BY 1, 2 ORDER BY 1, 2;
  DROP TABLE governor_touched_seconds;
  RETURN NULL;
END
$$;

-- The sliding minute's totals of the given buckets, for the admissions after `p_after` (epoch ms): the
-- seconds after the one it falls in from their totals, that second from its log rows. Every reader of
-- the minute (governor_authorize, admission, chunk admission) sums it this way; a bucket without any
-- admission in the window has no row.
CREATE FUNCTION governor_minute_totals(p_keys text[], p_after bigint)
RETURNS TABLE (bucket text, requests bigint, tokens bigint)
LANGUAGE sql STABLE AS $$
  SELECT m.bucket, sum(m.n)::bigint, sum(m.tk)::bigint
    FROM (SELECT s.bucket, s.requests AS n, s.tokens AS tk FROM rate_admission_seconds s
           WHERE s.bucket = ANY (p_keys) AND s.second > governor_second(p_after)
          UNION ALL
          SELECT a.bucket, 1, a.tokens FROM rate_admissions a
           WHERE a.bucket = ANY (p_keys) AND a.at > p_after AND a.at < (governor_second(p_after) + 1) * 1000) m
   GROUP BY m.bucket
$$;

CREATE TRIGGER rate_admissions_added AFTER INSERT ON rate_admissions
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION governor_rate_seconds_add();
CREATE TRIGGER rate_admissions_removed AFTER DELETE ON rate_admissions
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION governor_rate_seconds_remove();
CREATE TRIGGER rate_admissions_changed AFTER UPDATE ON rate_admissions
  REFERENCING OLD TABLE AS removed NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION governor_rate_seconds_change();

-- governor_authorize (0012, named governor_authorize_unclaimed since 0013) with the minute from the totals
CREATE OR REPLACE FUNCTION governor_authorize_unclaimed(
  -- policy: the key must be this team's, live, of one of these roles, allowed this model
  p_key_id text,
  p_team text,
  p_roles text[],
  p_model text,
  p_now_ts timestamptz,
  -- the reservation (reserve): the period, the team's budget and the org's cap (null: none)
  p_period text,
  p_team_limit bigint,
  p_org_limit bigint,
  p_reservation_id text,
  p_request_id text,
  p_amount bigint,
  -- the admission (tryAcquire): the buckets sorted in byte order, each limit per bucket (null: none)
  p_lease_id text,
  p_tokens bigint,
  p_now bigint,
  p_expires_at bigint,
  p_keys text[],
  p_rpm bigint[],
  p_tpm bigint[],
  p_rpd bigint[],
  p_tpd bigint[],
  p_concurrency bigint[],
  -- rate-math's constants: the sliding minute with its guard band, how long log rows are kept, a day
  p_minute_window bigint,
  p_log_keep bigint,
  p_day_ms bigint
) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_team_scope text := 'team:' || p_team;
  v_team_used bigint;
  v_org_used bigint;
  v_day bigint;
  b rate_buckets%ROWTYPE;
  v_day_requests bigint;
  v_day_tokens bigint;
  v_minute_requests bigint;
  v_minute_tokens bigint;
  v_open bigint;
BEGIN
  -- the policy's reads (checkPolicy): the key, the team's admin pause, the team's spend this period
  IF NOT EXISTS (
    SELECT 1 FROM gateway_keys k
     WHERE k.id = p_key_id AND k.team = p_team AND k.revoked_at IS NULL
       AND (k.expires_at IS NULL OR k.expires_at > p_now_ts)
       AND k.role = ANY (p_roles)
       AND (k.models IS NULL OR p_model = ANY (k.models))
  ) THEN
    RETURN 'declined';
  END IF;
  IF EXISTS (SELECT 1 FROM team_pauses WHERE team = p_team AND kind = 'admin') THEN
    RETURN 'declined';
  END IF;
  IF COALESCE((SELECT committed_nanos + held_nanos FROM budgets WHERE scope = v_team_scope AND period = p_period), 0)
     >= p_team_limit THEN
    RETURN 'declined';
  END IF;

  -- the reservation (reserve): the org's row, then the team's, created if missing, their limits those
  -- of the configuration; the hold must fit both
  INSERT INTO budgets (scope, period, limit_nanos)
  VALUES ('org', p_period, p_org_limit), (v_team_scope, p_period, p_team_limit)
  ON CONFLICT (scope, period) DO UPDATE SET limit_nanos = EXCLUDED.limit_nanos, updated_at = now();
  SELECT committed_nanos + held_nanos INTO v_org_used FROM budgets WHERE scope = 'org' AND period = p_period;
  SELECT committed_nanos + held_nanos INTO v_team_used FROM budgets WHERE scope = v_team_scope AND period = p_period;
  IF p_team_limit IS NOT NULL AND p_amount > p_team_limit - v_team_used THEN
    RETURN 'declined';
  END IF;
  IF p_org_limit IS NOT NULL AND p_amount > p_org_limit - v_org_used THEN
    RETURN 'declined';
  END IF;
  INSERT INTO budget_reservations (id, request_id, team, period, amount_nanos, state)
  VALUES (p_reservation_id, p_request_id, p_team, p_period, p_amount, 'held')
  ON CONFLICT (id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN 'declined';
  END IF;
  UPDATE budgets SET held_nanos = held_nanos + p_amount, updated_at = now()
   WHERE period = p_period AND scope IN ('org', v_team_scope);

  -- the admission (tryAcquire): a lease admitted before is the caller's to replay
  IF EXISTS (SELECT 1 FROM rate_leases WHERE lease_id = p_lease_id) THEN
    RETURN 'reserved';
  END IF;
  INSERT INTO rate_buckets (bucket) SELECT unnest(p_keys)
  ON CONFLICT (bucket) DO UPDATE SET bucket = EXCLUDED.bucket;
  -- prune only when there is something to prune (a delete that deletes nothing still runs the trigger)
  IF EXISTS (SELECT 1 FROM rate_admissions WHERE bucket = ANY (p_keys) AND at <= p_now - p_log_keep) THEN
    DELETE FROM rate_admissions WHERE bucket = ANY (p_keys) AND at <= p_now - p_log_keep;
  END IF;
  v_day := p_now - ((p_now % p_day_ms) + p_day_ms) % p_day_ms;
  FOR i IN 1 .. array_length(p_keys, 1) LOOP
    SELECT * INTO b FROM rate_buckets WHERE bucket = p_keys[i];
    -- a day that has ended counts zero; a day start ahead of now (a clock ahead) is kept
    v_day_requests := CASE WHEN b.day_start >= v_day THEN b.day_requests ELSE 0 END;
    v_day_tokens := CASE WHEN b.day_start >= v_day THEN b.day_tokens ELSE 0 END;
    IF p_rpm[i] IS NOT NULL OR p_tpm[i] IS NOT NULL THEN
      SELECT COALESCE(sum(t.requests), 0), COALESCE(sum(t.tokens), 0) INTO v_minute_requests, v_minute_tokens
        FROM governor_minute_totals(ARRAY[p_keys[i]], p_now - p_minute_window) t;
      IF p_rpm[i] IS NOT NULL AND v_minute_requests + 1 > p_rpm[i] THEN
        RETURN 'reserved';
      END IF;
      IF p_tpm[i] IS NOT NULL AND v_minute_tokens + p_tokens > p_tpm[i] THEN
        RETURN 'reserved';
      END IF;
    END IF;
    IF p_rpd[i] IS NOT NULL AND v_day_requests + 1 > p_rpd[i] THEN
      RETURN 'reserved';
    END IF;
    IF p_tpd[i] IS NOT NULL AND v_day_tokens + p_tokens > p_tpd[i] THEN
      RETURN 'reserved';
    END IF;
    IF p_concurrency[i] IS NOT NULL THEN
      SELECT count(*) INTO v_open FROM rate_leases
       WHERE bucket = p_keys[i] AND released_at IS NULL AND expires_at > p_now;
      IF v_open + 1 > p_concurrency[i] THEN
        RETURN 'reserved';
      END IF;
    END IF;
    IF b.upstream_blocked_until IS NOT NULL AND b.upstream_blocked_until > p_now THEN
      RETURN 'reserved';
    END IF;
    IF NOT governor_upstream_fits(b.upstream_tokens_observed_at, b.upstream_limit_tokens,
         b.upstream_remaining_tokens, b.upstream_tokens_reset_at, b.upstream_tokens_consumed, p_tokens, p_now)
       OR NOT governor_upstream_fits(b.upstream_requests_observed_at, b.upstream_limit_requests,
         b.upstream_remaining_requests, b.upstream_requests_reset_at, b.upstream_requests_consumed, 1, p_now) THEN
      RETURN 'reserved';
    END IF;
  END LOOP;

  -- every bucket has room: count the request in each (the day, Groq's observations in force), its lease
  -- rows and its sliding-log rows
  UPDATE rate_buckets r
     SET day_start = CASE WHEN r.day_start >= v_day THEN r.day_start ELSE v_day END,
         day_requests = CASE WHEN r.day_start >= v_day THEN r.day_requests ELSE 0 END + 1,
         day_tokens = CASE WHEN r.day_start >= v_day THEN r.day_tokens ELSE 0 END + p_tokens,
         upstream_tokens_consumed = r.upstream_tokens_consumed
           + CASE WHEN r.upstream_tokens_observed_at IS NOT NULL AND r.upstream_remaining_tokens IS NOT NULL
                       AND r.upstream_tokens_reset_at IS NOT NULL AND p_now < r.upstream_tokens_reset_at
                  THEN p_tokens ELSE 0 END,
         upstream_requests_consumed = r.upstream_requests_consumed
           + CASE WHEN r.upstream_requests_observed_at IS NOT NULL AND r.upstream_remaining_requests IS NOT NULL
                       AND r.upstream_requests_reset_at IS NOT NULL AND p_now < r.upstream_requests_reset_at
                  THEN 1 ELSE 0 END,
         updated_at = GREATEST(r.updated_at, p_now)
   WHERE r.bucket = ANY (p_keys);
  INSERT INTO rate_leases (lease_id, bucket, tokens, acquired_at, expires_at, minute_start, day_start)
  SELECT p_lease_id, r.bucket, p_tokens, p_now, p_expires_at, p_now, r.day_start
    FROM rate_buckets r WHERE r.bucket = ANY (p_keys);
  INSERT INTO rate_admissions (bucket, lease_id, at, tokens)
  SELECT unnest(p_keys), p_lease_id, p_now, p_tokens;
  RETURN 'admitted';
END
$$;
