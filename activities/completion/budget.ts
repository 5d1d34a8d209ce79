/** The budget step: hold the worst case of one attempt against the team's budget and the org's cap. */
import { formatUsd } from '../../domain/money';
import { worstCaseCost } from '../../domain/pricing';
import { periodOf } from '../../ledger';
import type { CompletionDeps } from './deps';
import type { RefusalRecord, ReserveInput, ReserveResult } from './types';

export function reservationIdFor(requestId: string, attempt: number): string {
  return `${requestId}#${attempt}`;
}

export async function recordRefusal(deps: CompletionDeps, refusal: RefusalRecord): Promise<void> {
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
  const team = config.teams.get(input.team);
  if (!team) throw new Error(`team ${input.team} vanished from the configuration`);
  const amount = worstCaseCost(
    config.pricing,
    input.model,
    input.promptTokenBound,
    input.maxCompletionTokens,
    {
      batch: input.batch,
    },
  );
  const reservationId = reservationIdFor(input.requestId, input.attempt);
  const result = await deps.ledger.reserve({
    reservationId,
    requestId: input.requestId,
    team: input.team,
    period: input.period,
    amount,
    teamLimit: team.monthlyBudgetNanos,
    orgLimit: config.org.monthlyCapNanos,
  });
  if (result.ok) return { ok: true, reservationId, amountNanos: amount.toString() };
  const whose =
    result.reason === 'team_budget'
      ? `team ${input.team}'s monthly budget`
      : "the organization's monthly cap";
  const message =
    `This request may cost up to $${formatUsd(amount)}, more than the $${formatUsd(result.remaining)} left in ${whose} ` +
    `for ${input.period}. Lower max_completion_tokens or ask an administrator to raise the budget.`;
  await recordRefusal(deps, {
    requestId: input.requestId,
    team: input.team,
    period: input.period,
    code: 'budget_exceeded',
    detail: result.reason,
  });
  return { ok: false, refusal: { code: 'budget_exceeded', message } };
}
