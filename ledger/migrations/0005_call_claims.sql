-- A reservation is spent on at most one upstream call. The caller claims it right before calling Groq;
-- a second claim (a retry after a worker died mid-call) fails, so the earlier call's outcome is known
-- to be unknown: its reservation stays charged and is flagged for reconciliation, and the retry uses a
-- new reservation.
ALTER TABLE budget_reservations ADD COLUMN call_claimed_at timestamptz;
ALTER TABLE budget_reservations ADD COLUMN call_claimed_by text;
