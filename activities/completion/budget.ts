/** The budget step: hold the worst case of one attempt against the team's budget and the org's cap. */
import { formatUsd, type Nanos } from '../../domain/money';
import { worstCaseCost } from '../../domain/pricing';
import { periodOf } from '../../ledger';
import type { CompletionDeps } from './deps';
import type { RefusalRecord, ReserveInput, ReserveResult } from './types';

export function reservationIdFor(requestId: string, attempt: number): string {
  return `${requestId}#${attempt}`;
}

/** An attempt's rate-limit lease has the id of its reservation. */
export function leaseIdFor(requestId: string, attempt: number): string {
  return reservationIdFor(requestId, attempt);
}

export async function recordRefusal(
  deps: Pick<CompletionDeps, 'ledger' | 'config' | 'now'>,
  refusal: RefusalRecord,
): Promise<void> {
  const now = deps.now();
  await deps.ledger.recordRefusal({
    requestId: refusal.requestId,
    period: refusal.period ?? periodOf(new Date(now), deps.config().org.timezone),
    team: refusal.team,
    reason: refusal.code,
    detail: refusal.detail ?? null,
    at: new Date(now),
  });
}

export async function reserveBudget(deps: CompletionDeps, input: ReserveInput): Promise<ReserveResult> {
  const config = deps.config();
  const amount = worstCaseCost(
    config.pricing,
    input.model,
    input.promptTokenBound,
    input.maxCompletionTokens,
    {
      batch: input.batch,
    },
  );
  return reserveAmount(deps, input, amount, {
    advice: COMPLETION_BUDGET_ADVICE,
  });
}

/** What a refused hold answers: what the request may cost, what is left and where, what to do. */
export function budgetRefusalMessage(
  attempt: { team: string; period: string },
  amount: Nanos,
  refusal: { reason: 'team_budget' | 'org_budget'; remaining: Nanos },
  describe: { what?: string; advice?: string } = {},
): string {
  const whose =
    refusal.reason === 'team_budget'
      ? `team ${attempt.team}'s monthly budget`
      : "the organization's monthly cap";
  return (
    `This request${describe.what ? ` (${describe.what})` : ''} may cost up to $${formatUsd(amount)}, ` +
    `more than the $${formatUsd(refusal.remaining)} left in ${whose} for ${attempt.period}.` +
    (describe.advice ? ` ${describe.advice}` : '')
  );
}

/** The advice of a completion's refused hold. */
export const COMPLETION_BUDGET_ADVICE =
  'Lower max_completion_tokens or ask an administrator to raise the budget.';

/**
 * Hold `amount` for an attempt against its team's budget and the org's cap; a hold that does not fit is
 * recorded as a refusal and answered with `budget_exceeded`, saying what the request may cost (`what`
 * names the request's size, `advice` what to do).
 */
export async function reserveAmount(
  deps: Pick<CompletionDeps, 'ledger' | 'config' | 'now'>,
  attempt: { requestId: string; attempt: number; team: string; period: string },
  amount: Nanos,
  describe: { what?: string; advice?: string } = {},
): Promise<ReserveResult> {
  const config = deps.config();
  const team = config.teams.get(attempt.team);
  if (!team) throw new Error(`team ${attempt.team} vanished from the configuration`);
  const reservationId = reservationIdFor(attempt.requestId, attempt.attempt);
  const result = await deps.ledger.reserve({
    reservationId,
    requestId: attempt.requestId,
    team: attempt.team,
    period: attempt.period,
    amount,
    teamLimit: team.monthlyBudgetNanos,
    orgLimit: config.org.monthlyCapNanos,
  });
  if (result.ok) return { ok: true, reservationId, amountNanos: amount.toString() };
  const message = budgetRefusalMessage(attempt, amount, result, describe);
  await recordRefusal(deps, {
    requestId: attempt.requestId,
    team: attempt.team,
    period: attempt.period,
    code: 'budget_exceeded',
    detail: result.reason,
  });
  return { ok: false, refusal: { code: 'budget_exceeded', message } };
}
