/**
 * The alert step: after spend changes, each threshold the team or the org has crossed alerts once per
 * period (the ledger remembers), and a team that has used its whole budget is paused for the period.
 */
import { ORG_SCOPE, teamScope } from '../../ledger';
import type { Nanos } from '../../domain/money';
import type { BudgetAlert } from '../alerts';
import type { CompletionDeps } from './deps';
import type { AlertsInput } from './types';

/** Thresholds (whole percents) that `used` has reached out of `budget`, 100 included when used up. */
export function crossedThresholds(used: Nanos, budget: Nanos, thresholds: readonly number[]): number[] {
  const all = [...new Set([...thresholds, 100])].sort((a, b) => a - b);
  return all.filter((threshold) => used * 100n >= budget * BigInt(threshold));
}

/**
 * `spend`: committed + held of the org and the team scope when the caller has it (a booking gives it),
 * read from the ledger otherwise.
 */
export async function checkAlerts(
  deps: CompletionDeps,
  input: AlertsInput,
  spend?: ReadonlyMap<string, Nanos>,
): Promise<number[]> {
  const config = deps.config();
  const team = config.teams.get(input.team);
  const fired: number[] = [];
  const scopes: Array<{ scope: string; alert: Omit<BudgetAlert, 'threshold' | 'used'>; budget: Nanos }> = [
    {
      scope: ORG_SCOPE,
      alert: { scope: 'org', period: input.period, budget: config.org.monthlyCapNanos },
      budget: config.org.monthlyCapNanos,
    },
  ];
  if (team) {
    scopes.push({
      scope: teamScope(team.name),
      alert: { scope: 'team', team: team.name, period: input.period, budget: team.monthlyBudgetNanos },
      budget: team.monthlyBudgetNanos,
    });
  }
  // committed + held of every scope in one read, unless the booking gave it
  const known = spend && scopes.every(({ scope }) => spend.has(scope));
  const used = known
    ? spend
    : await deps.ledger.spendOfScopes(
        scopes.map(({ scope }) => scope),
        input.period,
      );
  for (const { scope, alert, budget } of scopes) {
    const scopeUsed = used.get(scope) ?? 0n;
    for (const threshold of crossedThresholds(scopeUsed, budget, config.org.alertThresholds)) {
      if (!(await deps.ledger.recordAlertOnce(scope, input.period, threshold, new Date(deps.now()))))
        continue;
      if (threshold >= 100 && alert.scope === 'team' && alert.team) {
        await deps.ledger.setTeamPause({
          team: alert.team,
          kind: 'budget',
          period: input.period,
          paused: true,
          by: 'governor',
          reason: 'monthly budget used up',
        });
      }
      await deps.alerts.notify({ ...alert, threshold, used: scopeUsed });
      if (alert.scope === 'team') fired.push(threshold);
    }
  }
  return fired;
}

/**
 * The alerts in the same step as a booking, with the spend it gave: true when they ran; false when they
 * failed after the booking was committed, and the workflow then runs `checkAlerts` as its own step.
 */
export async function alertsAfterBooking(
  deps: CompletionDeps,
  input: AlertsInput & { requestId: string },
  spend?: ReadonlyMap<string, Nanos>,
): Promise<boolean> {
  try {
    await checkAlerts(deps, { team: input.team, period: input.period }, spend);
    return true;
  } catch (error) {
    deps.log.warn('budget alerts after a booking failed; the workflow checks them again', {
      requestId: input.requestId,
      error: String(error),
    });
    return false;
  }
}
