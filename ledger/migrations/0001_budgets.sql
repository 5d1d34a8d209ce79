-- Budget accounting. One row per scope and period holds the limit seen at the last reservation, the
-- committed spend (settled calls) and the held amount (open and unknown reservations), all in integer
-- nano-dollars. Scopes: 'org' and 'team:<name>'. Periods: calendar months in the org's timezone, 'YYYY-MM'.
CREATE TABLE budgets (
  scope text NOT NULL CHECK (scope = 'org' OR scope ~ '^team:.+$'),
  period text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  limit_nanos bigint CHECK (limit_nanos IS NULL OR limit_nanos >= 0),
  committed_nanos bigint NOT NULL DEFAULT 0 CHECK (committed_nanos >= 0),
  held_nanos bigint NOT NULL DEFAULT 0 CHECK (held_nanos >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, period)
);

-- One row per reservation id (chosen by the caller, so retries are idempotent). A reservation charges
-- the org row and, when it has a team, the team row of its period. States:
--   held     amount counted in held_nanos
--   settled  moved to committed_nanos at settled_nanos (the actual cost, may exceed the hold)
--   released hold returned, nothing charged
--   unknown  the outcome of the call is not known (worker died): still counted in held_nanos, listed
--            for reconciliation, which later settles or releases it
--   refused  the reservation did not fit; kept so a retry with the same id gets the same answer
CREATE TABLE budget_reservations (
  id text PRIMARY KEY,
  request_id text NOT NULL,
  team text,
  period text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  amount_nanos bigint NOT NULL CHECK (amount_nanos >= 0),
  state text NOT NULL CHECK (state IN ('held', 'settled', 'released', 'unknown', 'refused')),
  settled_nanos bigint CHECK (settled_nanos >= 0),
  refusal_reason text CHECK (refusal_reason IN ('team_budget', 'org_budget')),
  remaining_nanos bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  unknown_at timestamptz,
  resolved_at timestamptz,
  CHECK ((state = 'settled') = (settled_nanos IS NOT NULL)),
  CHECK ((state = 'refused') = (refusal_reason IS NOT NULL AND remaining_nanos IS NOT NULL))
);

CREATE INDEX budget_reservations_period_team ON budget_reservations (period, team);
CREATE INDEX budget_reservations_open ON budget_reservations (state, created_at) WHERE state IN ('held', 'unknown');
CREATE INDEX budget_reservations_request ON budget_reservations (request_id);
