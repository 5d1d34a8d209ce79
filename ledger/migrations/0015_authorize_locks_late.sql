-- The authorize and booking functions without the writes that change nothing, their locks taken later,
-- and the sliding log pruned in batches. What each grants, refuses and leaves in the ledger is that of
-- 0013/0014; what changes is how much they write and how long they hold the hot rows.
--
-- 1. Pruning. Each admission pruned its buckets' log rows older than the kept two minutes whenever there
--    was one, so under a steady load every request deleted the one or two rows that had just aged out
--    (the delete and its trigger), and first looked for them with a scan of the buckets' rows (the
--    planner's index on (bucket, lease_id) with a filter on `at`: a cost that grew with the request rate).
--    Now a bucket's log is pruned when its oldest row is a twelfth of the kept time (ten seconds) past it,
--    then of every row older than the kept time; the oldest row is one index probe per bucket
--    (`governor_log_prune_due`). Every pruning writer (admission, chunk admission, this function) uses
--    the same rule. Readers of the log all read by time, so rows kept a little longer change no total.
-- 2. Policy: the key, the team's admin pause and the team's spend in one statement.
-- 3. Budget rows: created when missing (ON CONFLICT DO NOTHING: an existing row is neither rewritten nor
--    locked), then locked org first with the reads of their use, where an upsert rewrote both rows on every
--    request (to set the limit from the configuration) and two reads followed. The configured limits are
--    written with the hold (the same row write), or alone when a changed limit meets a refusal.
-- 4. Rate buckets: created when missing, then locked in byte order (SELECT ... FOR UPDATE), where a
--    no-op upsert (SET bucket = EXCLUDED.bucket) wrote a new version of every bucket row to lock it.
-- 5. The reservation row is written after the admission's checks, with its call claim in the same
--    insert when admitted, where an update followed the insert. `governor_authorize` holds the whole body
--    now; `governor_authorize_unclaimed` (0013) is gone (nothing calls it but the old body of
--    `governor_authorize`, which this migration replaces).
--
-- Lock order stays budgets (org, team), then rate buckets in byte order, then log rows, as in every
-- other writer, so no two transactions wait on each other in a circle.

CREATE FUNCTION governor_log_prune_due(p_keys text[], p_now bigint, p_keep bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM unnest(p_keys) AS k(bucket)
     WHERE (SELECT min(a.at) FROM rate_admissions a WHERE a.bucket = k.bucket) <= p_now - p_keep - p_keep / 12)
$$;

CREATE OR REPLACE FUNCTION governor_authorize(
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
  p_day_ms bigint,
  -- who claims the reservation for its upstream call once admitted (claimCall's claimer); null: nobody
  p_claimer text DEFAULT NULL
) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_team_scope text := 'team:' || p_team;
  v_org_used bigint;
  v_team_used bigint;
  v_org_limit bigint;
  v_team_limit bigint;
  v_admit boolean := true;
  v_day bigint;
  b rate_buckets%ROWTYPE;
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
          AND (k.models IS NULL OR p_model = ANY (k.models)))
     OR EXISTS (SELECT 1 FROM team_pauses WHERE team = p_team AND kind = 'admin')
     OR COALESCE((SELECT committed_nanos + held_nanos FROM budgets WHERE scope = v_team_scope AND period = p_period), 0)
        >= p_team_limit THEN
    RETURN 'declined';
  END IF;

  -- the reservation (reserve): the org's row, then the team's, created if missing with the configured
  -- limits, locked in that order; the hold must fit both
  INSERT INTO budgets (scope, period, limit_nanos)
  VALUES ('org', p_period, p_org_limit), (v_team_scope, p_period, p_team_limit)
  ON CONFLICT (scope, period) DO NOTHING;
  SELECT max(s.used) FILTER (WHERE s.scope = 'org'), max(s.used) FILTER (WHERE s.scope <> 'org'),
         max(s.limit_nanos) FILTER (WHERE s.scope = 'org'), max(s.limit_nanos) FILTER (WHERE s.scope <> 'org')
    INTO v_org_used, v_team_used, v_org_limit, v_team_limit
    FROM (SELECT scope, committed_nanos + held_nanos AS used, limit_nanos FROM budgets
           WHERE period = p_period AND scope IN ('org', v_team_scope)
           ORDER BY scope COLLATE "C" FOR UPDATE) s;
  IF (p_team_limit IS NOT NULL AND p_amount > p_team_limit - v_team_used)
     OR (p_org_limit IS NOT NULL AND p_amount > p_org_limit - v_org_used) THEN
    -- refused: the rows still take the configured limits, as `reserve` leaves them
    IF v_org_limit IS DISTINCT FROM p_org_limit OR v_team_limit IS DISTINCT FROM p_team_limit THEN
      UPDATE budgets SET limit_nanos = CASE WHEN scope = 'org' THEN p_org_limit ELSE p_team_limit END, updated_at = now()
       WHERE period = p_period AND scope IN ('org', v_team_scope);
    END IF;
    RETURN 'declined';
  END IF;

  -- the admission (tryAcquire): a lease admitted before is the caller's to replay (reserved, not admitted)
  IF EXISTS (SELECT 1 FROM rate_leases WHERE lease_id = p_lease_id) THEN
    v_admit := false;
  ELSE
    INSERT INTO rate_buckets (bucket) SELECT unnest(p_keys) ON CONFLICT (bucket) DO NOTHING;
    PERFORM 1 FROM rate_buckets WHERE bucket = ANY (p_keys) ORDER BY bucket COLLATE "C" FOR UPDATE;
    IF governor_log_prune_due(p_keys, p_now, p_log_keep) THEN
      DELETE FROM rate_admissions WHERE bucket = ANY (p_keys) AND at <= p_now - p_log_keep;
    END IF;
    v_day := p_now - ((p_now % p_day_ms) + p_day_ms) % p_day_ms;
    FOR i IN 1 .. array_length(p_keys, 1) LOOP
      SELECT * INTO b FROM rate_buckets WHERE bucket = p_keys[i];
      IF p_rpm[i] IS NOT NULL OR p_tpm[i] IS NOT NULL THEN
        SELECT COALESCE(sum(t.requests), 0), COALESCE(sum(t.tokens), 0) INTO v_minute_requests, v_minute_tokens
          FROM governor_minute_totals(ARRAY[p_keys[i]], p_now - p_minute_window) t;
      END IF;
      -- a day that has ended counts zero; a day start ahead of now (a clock ahead) is kept
      -- each check as a refusal; one that cannot be decided (a null) refuses nothing, as before
      v_admit := NOT COALESCE(
           (p_rpm[i] IS NOT NULL AND v_minute_requests + 1 > p_rpm[i])
        OR (p_tpm[i] IS NOT NULL AND v_minute_tokens + p_tokens > p_tpm[i])
        OR (p_rpd[i] IS NOT NULL
            AND CASE WHEN b.day_start >= v_day THEN b.day_requests ELSE 0 END + 1 > p_rpd[i])
        OR (p_tpd[i] IS NOT NULL
            AND CASE WHEN b.day_start >= v_day THEN b.day_tokens ELSE 0 END + p_tokens > p_tpd[i])
        OR (p_concurrency[i] IS NOT NULL
            AND (SELECT count(*) FROM rate_leases
                  WHERE bucket = p_keys[i] AND released_at IS NULL AND expires_at > p_now) + 1 > p_concurrency[i])
        OR (b.upstream_blocked_until IS NOT NULL AND b.upstream_blocked_until > p_now)
        OR NOT governor_upstream_fits(b.upstream_tokens_observed_at, b.upstream_limit_tokens,
             b.upstream_remaining_tokens, b.upstream_tokens_reset_at, b.upstream_tokens_consumed, p_tokens, p_now)
        OR NOT governor_upstream_fits(b.upstream_requests_observed_at, b.upstream_limit_requests,
             b.upstream_remaining_requests, b.upstream_requests_reset_at, b.upstream_requests_consumed, 1, p_now),
        false);
      EXIT WHEN NOT v_admit;
    END LOOP;
  END IF;

  -- the reservation row (a replay finds its own and is declined), claimed for the call when admitted
  INSERT INTO budget_reservations (id, request_id, team, period, amount_nanos, state, call_claimed_at, call_claimed_by)
  VALUES (p_reservation_id, p_request_id, p_team, p_period, p_amount, 'held',
          CASE WHEN v_admit AND p_claimer IS NOT NULL THEN now() END, CASE WHEN v_admit THEN p_claimer END)
  ON CONFLICT (id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN 'declined';
  END IF;
  UPDATE budgets
     SET held_nanos = held_nanos + p_amount,
         limit_nanos = CASE WHEN scope = 'org' THEN p_org_limit ELSE p_team_limit END,
         updated_at = now()
   WHERE period = p_period AND scope IN ('org', v_team_scope);
  IF NOT v_admit THEN
    RETURN 'reserved';
  END IF;

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
  RETURN CASE WHEN p_claimer IS NULL THEN 'admitted' ELSE 'claimed' END;
END
$$;

DROP FUNCTION governor_authorize_unclaimed(text, text, text[], text, timestamptz, text, bigint, bigint, text,
  text, bigint, text, bigint, bigint, bigint, text[], bigint[], bigint[], bigint[], bigint[], bigint[], bigint,
  bigint, bigint);
