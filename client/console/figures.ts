/**
 * The console's figures, read from the ledger by the same store calls `/admin/usage` makes: spend per
 * team and for the org (committed, held, unknown) in the current budget month, its projection to the
 * month's end, the alerts already crossed, paused teams, spend per model and the last seven local days.
 * Every money figure is bigint nano-dollars.
 */
import type { GovernorConfig } from '../../domain/config';
import type { Nanos } from '../../domain/money';
import { basisPoints, projectMonthEnd } from '../../domain/reports/figures';
import { localDate, zonedMidnight } from '../../domain/reports/iso-week';
import { ORG_SCOPE, periodOf, teamScope, type LedgerStore } from '../../ledger';
import { dailyCost } from '../../ledger/console';

const DAY_MS = 86_400_000;

export interface MonthClock {
  period: string;
  dayOfMonth: number;
  daysInMonth: number;
  /** the last seven local dates, oldest first ("YYYY-MM-DD"), and their eight midnights */
  days: string[];
  midnights: Date[];
}

export function monthClock(now: Date, timeZone: string): MonthClock {
  const today = localDate(now, timeZone);
  const date = new Date(today);
  const daysInMonth = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  const dates = Array.from({ length: 8 }, (_, i) => today - (6 - i) * DAY_MS);
  return {
    period: periodOf(now, timeZone),
    dayOfMonth: date.getUTCDate(),
    daysInMonth,
    days: dates.slice(0, 7).map((d) => new Date(d).toISOString().slice(0, 10)),
    midnights: dates.map((d) => zonedMidnight(d, timeZone)),
  };
}

export interface SpendFigures {
  /** settled cost of the month */
  committedNanos: Nanos;
  /** open holds (reservations in flight, including unknown outcomes) */
  heldNanos: Nanos;
  unknownNanos: Nanos;
  /** null: no budget */
  budgetNanos: Nanos | null;
  usedBasisPoints: number | null;
  projectedNanos: Nanos;
  /** alert thresholds (percent) already crossed this month */
  alerts: number[];
}

export interface TeamFigures extends SpendFigures {
  team: string;
  /** why the team is paused, or null */
  paused: string | null;
}

export interface Overview {
  period: string;
  clock: MonthClock;
  org: SpendFigures;
  teams: TeamFigures[];
  models: { model: string; attempts: bigint; costNanos: Nanos }[];
  days: { day: string; costNanos: Nanos }[];
}

async function spendOf(
  ledger: LedgerStore,
  scope: string,
  clock: MonthClock,
  budgetNanos: Nanos | null,
  alerts: number[],
): Promise<SpendFigures> {
  const spend = await ledger.getSpend(scope, clock.period);
  return {
    committedNanos: spend.committed,
    heldNanos: spend.held,
    unknownNanos: spend.unknown,
    budgetNanos,
    usedBasisPoints: budgetNanos === null ? null : basisPoints(spend.committed, budgetNanos),
    projectedNanos: projectMonthEnd(spend.committed, clock.dayOfMonth, clock.daysInMonth),
    alerts,
  };
}

function pauseText(state: { admin: { reason: string | null } | null; budget: unknown }): string {
  if (state.admin) return `paused by an admin${state.admin.reason ? `: ${state.admin.reason}` : ''}`;
  return 'paused: budget exhausted for the month';
}

export async function teamFigures(
  ledger: LedgerStore,
  config: GovernorConfig,
  team: string,
  clock: MonthClock,
): Promise<TeamFigures> {
  const [alerts, pause] = await Promise.all([
    ledger.listAlerts(clock.period),
    ledger.getTeamPause(team, clock.period),
  ]);
  const crossed = alerts.filter((a) => a.scope === teamScope(team)).map((a) => a.threshold);
  const budget = config.teams.get(team)?.monthlyBudgetNanos ?? null;
  return {
    team,
    paused: pause.paused ? pauseText(pause) : null,
    ...(await spendOf(ledger, teamScope(team), clock, budget, crossed)),
  };
}

export async function overview(ledger: LedgerStore, config: GovernorConfig, now: Date): Promise<Overview> {
  const clock = monthClock(now, config.org.timezone);
  const [alerts, paused, models, days] = await Promise.all([
    ledger.listAlerts(clock.period),
    ledger.listPausedTeams(clock.period),
    ledger.usageTotalsByModel({ period: clock.period }),
    dailyCost(ledger.sql, clock.midnights),
  ]);
  const crossed = (scope: string) => alerts.filter((a) => a.scope === scope).map((a) => a.threshold);
  const pauses = new Map(paused.filter((p) => p.paused).map((p) => [p.team, pauseText(p)]));
  const teams = await Promise.all(
    [...config.teams.values()].map(async (team) => ({
      team: team.name,
      paused: pauses.get(team.name) ?? null,
      ...(await spendOf(
        ledger,
        teamScope(team.name),
        clock,
        team.monthlyBudgetNanos,
        crossed(teamScope(team.name)),
      )),
    })),
  );
  return {
    period: clock.period,
    clock,
    org: await spendOf(ledger, ORG_SCOPE, clock, config.org.monthlyCapNanos, crossed(ORG_SCOPE)),
    teams,
    models: models.map((row) => ({
      model: row.key ?? '?',
      attempts: row.attempts,
      costNanos: row.costNanos,
    })),
    days: clock.days.map((day, i) => ({ day, costNanos: days[i] ?? 0n })),
  };
}
