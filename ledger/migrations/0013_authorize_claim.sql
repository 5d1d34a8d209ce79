-- The authorize step's statement can also claim the reservation for its upstream call
-- (migrations/0005_call_claims.sql), so that a request's first attempt, authorized and called in one
-- step, needs no claim statement of its own. `governor_authorize` (0012) keeps its body under the name
-- `governor_authorize_unclaimed`; the function of that name now takes one more parameter, `p_claimer`
-- (default null: no claim, as before, so callers of the old signature keep working), and answers a
-- fourth outcome:
--   'claimed'   reserved, admitted and claimed by p_claimer: the caller may call Groq on it at once
-- 'admitted' comes only from a call that inserted the reservation (a replay finds its reservation and is
-- declined), so the claim is always this call's: a second run of a step can never take a claim for a
-- call made earlier.

ALTER FUNCTION governor_authorize(text, text, text[], text, timestamptz, text, bigint, bigint, text, text,
  bigint, text, bigint, bigint, bigint, text[], bigint[], bigint[], bigint[], bigint[], bigint[], bigint,
  bigint, bigint) RENAME TO governor_authorize_unclaimed;

CREATE FUNCTION governor_authorize(
  p_key_id text,
  p_team text,
  p_roles text[],
  p_model text,
  p_now_ts timestamptz,
  p_period text,
  p_team_limit bigint,
  p_org_limit bigint,
  p_reservation_id text,
  p_request_id text,
  p_amount bigint,
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
  p_minute_window bigint,
  p_log_keep bigint,
  p_day_ms bigint,
  -- who claims the reservation for its upstream call once admitted (claimCall's claimer); null: nobody
  p_claimer text DEFAULT NULL
) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_outcome text;
BEGIN
  v_outcome := governor_authorize_unclaimed(p_key_id, p_team, p_roles, p_model, p_now_ts, p_period,
    p_team_limit, p_org_limit, p_reservation_id, p_request_id, p_amount, p_lease_id, p_tokens, p_now,
    p_expires_at, p_keys, p_rpm, p_tpm, p_rpd, p_tpd, p_concurrency, p_minute_window, p_log_keep,
    p_day_ms);
  IF v_outcome <> 'admitted' OR p_claimer IS NULL THEN
    RETURN v_outcome;
  END IF;
  UPDATE budget_reservations SET call_claimed_at = now(), call_claimed_by = p_claimer, updated_at = now()
   WHERE id = p_reservation_id;
  RETURN 'claimed';
END
$$;
