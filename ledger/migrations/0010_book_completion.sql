-- Booking a completed call in one round trip: the same statements `bookCompletion` ran in a transaction
-- of six (BEGIN, settle, usage row, the lease end's lock and write, COMMIT), in one function call, so one
-- statement and one round trip per booking. Read with ledger/book-completion.ts, which computes the
-- upstream observation's column values and falls back to the transaction when the reservation is not
-- held (already settled: idempotent; another state: the error the transaction raises).
--
-- Order and locks are those of the transaction: the reservation row, its budget rows (org, then team),
-- then the rate buckets of the lease and the model in the global (byte) order. Any error rolls the whole
-- call back, as it rolled the transaction back.
CREATE FUNCTION governor_book_completion(
  p_reservation_id text,
  p_cost bigint,
  -- the usage row, in recordUsage's column order
  u_request_id text,
  u_attempt bigint,
  u_period text,
  u_team text,
  u_model text,
  u_key_name text,
  u_key_version bigint,
  u_gateway_key_id text,
  u_reservation_id text,
  u_prompt_tokens bigint,
  u_completion_tokens bigint,
  u_cached_tokens bigint,
  u_cost_nanos bigint,
  u_batch boolean,
  u_upstream_request_id text,
  u_http_status bigint,
  u_outcome text,
  u_started_at timestamptz,
  u_finished_at timestamptz,
  -- the lease's end
  p_lease_id text,
  p_model_bucket text,
  p_actual_tokens bigint,
  p_now bigint,
  -- Groq's rate-limit headers, as column values (null: the header was absent)
  p_remaining_tokens bigint,
  p_limit_tokens bigint,
  p_tokens_reset_at bigint,
  p_remaining_requests bigint,
  p_limit_requests bigint,
  p_requests_reset_at bigint,
  p_blocked_until bigint
) RETURNS TABLE (budget_scope text, budget_used bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_period text;
  v_team text;
  v_amount bigint;
  v_scopes integer;
BEGIN
  -- settle a held (or unknown) reservation at the exact cost (settle's fast path); any other state is
  -- left to the caller's transaction path (already settled: nothing to book; otherwise its error)
  UPDATE budget_reservations
     SET state = 'settled', settled_nanos = p_cost, updated_at = now(), resolved_at = now()
   WHERE id = p_reservation_id AND state IN ('held', 'unknown')
   RETURNING period, team, amount_nanos INTO v_period, v_team, v_amount;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  -- its budget rows, locked org then team as `reserve` locks them, hold moved to committed
  PERFORM 1 FROM budgets
    WHERE period = v_period AND (scope = 'org' OR scope = 'team:' || v_team)
    ORDER BY scope COLLATE "C" FOR UPDATE;
  RETURN QUERY
  UPDATE budgets
     SET held_nanos = held_nanos - v_amount, committed_nanos = committed_nanos + p_cost, updated_at = now()
   WHERE period = v_period AND (scope = 'org' OR scope = 'team:' || v_team)
  RETURNING scope, committed_nanos + held_nanos;
  GET DIAGNOSTICS v_scopes = ROW_COUNT;
  IF v_scopes <> (CASE WHEN v_team IS NULL THEN 1 ELSE 2 END) THEN
    RAISE EXCEPTION 'a budget row of reservation % (%) is missing', p_reservation_id, v_period;
  END IF;

  -- the usage row (a repeated attempt keeps its first row)
  INSERT INTO usage_records (request_id, attempt, period, team, model, key_name, key_version, gateway_key_id,
    reservation_id, prompt_tokens, completion_tokens, cached_tokens, cost_nanos, batch, upstream_request_id,
    http_status, outcome, started_at, finished_at)
  VALUES (u_request_id, u_attempt, u_period, u_team, u_model, u_key_name, u_key_version, u_gateway_key_id,
    u_reservation_id, u_prompt_tokens, u_completion_tokens, u_cached_tokens, u_cost_nanos, u_batch,
    u_upstream_request_id, u_http_status, u_outcome, u_started_at, u_finished_at)
  ON CONFLICT (request_id, attempt) DO NOTHING;

  -- the lease's buckets and the model's, created if missing and locked in the global order
  INSERT INTO rate_buckets (bucket)
  SELECT k FROM (SELECT bucket AS k FROM rate_leases WHERE lease_id = p_lease_id UNION SELECT p_model_bucket) keys
   ORDER BY k COLLATE "C"
  ON CONFLICT (bucket) DO UPDATE SET bucket = EXCLUDED.bucket;

  -- Groq's headers into the model's bucket (recordUpstreamHeaders): a dimension's observation replaces
  -- the stored one unless that is newer; retry-after only extends the block
  UPDATE rate_buckets SET
    upstream_tokens_observed_at = CASE WHEN t THEN p_now ELSE upstream_tokens_observed_at END,
    upstream_remaining_tokens = CASE WHEN t THEN p_remaining_tokens ELSE upstream_remaining_tokens END,
    upstream_tokens_reset_at = CASE WHEN t THEN p_tokens_reset_at ELSE upstream_tokens_reset_at END,
    upstream_limit_tokens = CASE WHEN t THEN p_limit_tokens ELSE upstream_limit_tokens END,
    upstream_tokens_consumed = CASE WHEN t THEN 0 ELSE upstream_tokens_consumed END,
    upstream_requests_observed_at = CASE WHEN q THEN p_now ELSE upstream_requests_observed_at END,
    upstream_remaining_requests = CASE WHEN q THEN p_remaining_requests ELSE upstream_remaining_requests END,
    upstream_requests_reset_at = CASE WHEN q THEN p_requests_reset_at ELSE upstream_requests_reset_at END,
    upstream_limit_requests = CASE WHEN q THEN p_limit_requests ELSE upstream_limit_requests END,
    upstream_requests_consumed = CASE WHEN q THEN 0 ELSE upstream_requests_consumed END,
    upstream_blocked_until = CASE WHEN p_blocked_until IS NULL THEN upstream_blocked_until
                                  ELSE GREATEST(COALESCE(upstream_blocked_until, 0), p_blocked_until) END,
    updated_at = CASE WHEN t OR q OR p_blocked_until IS NOT NULL THEN GREATEST(updated_at, p_now)
                      ELSE updated_at END
  FROM (SELECT
          p_remaining_tokens IS NOT NULL AND (b.upstream_tokens_observed_at IS NULL OR b.upstream_tokens_observed_at <= p_now) AS t,
          p_remaining_requests IS NOT NULL AND (b.upstream_requests_observed_at IS NULL OR b.upstream_requests_observed_at <= p_now) AS q
          FROM rate_buckets b WHERE b.bucket = p_model_bucket) AS seen
  WHERE bucket = p_model_bucket;

  -- the token correction of each bucket of the lease not corrected yet (correctTokens): the day's count
  -- when the lease is of the bucket's current day, Groq's consumed count when the bucket's observation
  -- predates the admission
  UPDATE rate_buckets b SET
    day_tokens = CASE WHEN b.day_start = l.day_start
                      THEN GREATEST(0, b.day_tokens + (p_actual_tokens - l.tokens)) ELSE b.day_tokens END,
    upstream_tokens_consumed = CASE WHEN b.upstream_tokens_observed_at IS NOT NULL AND b.upstream_tokens_observed_at <= l.acquired_at
                                    THEN GREATEST(0, b.upstream_tokens_consumed + (p_actual_tokens - l.tokens))
                                    ELSE b.upstream_tokens_consumed END
    FROM rate_leases l
   WHERE l.lease_id = p_lease_id AND l.bucket = b.bucket AND l.actual_tokens IS NULL;
  UPDATE rate_admissions a SET tokens = p_actual_tokens
    FROM rate_leases l
   WHERE l.lease_id = p_lease_id AND l.actual_tokens IS NULL AND a.bucket = l.bucket AND a.lease_id = p_lease_id;
  -- the lease ends (releaseLease); its rows keep the first correction
  UPDATE rate_leases
     SET actual_tokens = COALESCE(actual_tokens, p_actual_tokens), released_at = COALESCE(released_at, p_now)
   WHERE lease_id = p_lease_id;
END
$$;
