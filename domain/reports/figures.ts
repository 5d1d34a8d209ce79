/**
 * The weekly report's figures, computed from the ledger's facts by pure bigint arithmetic: every money
 * figure is nano-dollars, the org row is the sum of the team rows, and a configured team with no
 * traffic still has a row of zeros. The rules (what a request is, the projection, the refusal
 * categories) are documented in docs/reports.md.
 */
import type { Nanos } from '../money';

/** One group of usage rows of the week, as the ledger sums them. */
export interface UsageFact {
  team: string | null;
  model: string;
  batch: boolean;
  keyName: string;
  keyVersion: number;
  /** 0..6: Monday..Sunday in the org's time zone */
  day: number;
  /** requests whose first attempt of the week is in this group */
  requests: bigint;
  attempts: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  cachedTokens: bigint;
  costNanos: Nanos;
  /** the endpoint, e.g. "chat.completions", "audio.transcriptions" (absent: chat.completions) */
  endpoint?: string;
  /** what `quantity` counts: audio seconds, characters; tokens (absent: tokens) */
  unit?: string;
  /** billed audio seconds or characters; 0 for tokens */
  quantity?: bigint;
}

export interface ReportFacts {
  usage: UsageFact[];
  /** cost per team in the week before */
  previousWeekCost: { team: string | null; costNanos: Nanos }[];
  /** cost per team in the budget month up to the week's end */
  monthToDateCost: { team: string | null; costNanos: Nanos }[];
  refusals: { team: string | null; reason: string; count: bigint }[];
  /** SUM(cost_nanos) of the week straight from the ledger, to reconcile against */
  ledgerWeekCostNanos: Nanos;
}

export interface ReportContext {
  week: string;
  timeZone: string;
  orgName: string;
  /** ISO instants of the week's start and end */
  start: string;
  end: string;
  days: string[];
  month: { period: string; dayOfMonth: number; daysInMonth: number };
  /** configured teams in config order, with their monthly budgets */
  teams: { name: string; monthlyBudgetNanos: Nanos }[];
  orgMonthlyCapNanos: Nanos;
  generatedAt: string;
}

export const REFUSAL_CATEGORIES = [
  'model_not_allowed',
  'max_tokens',
  'budget',
  'rate_limit',
  'auth',
  'other',
] as const;
export type RefusalCategory = (typeof REFUSAL_CATEGORIES)[number];

const CATEGORY_OF: Record<string, RefusalCategory> = {
  model_not_allowed: 'model_not_allowed',
  max_tokens_exceeded: 'max_tokens',
  budget_exceeded: 'budget',
  team_budget: 'budget',
  org_budget: 'budget',
  rate_limit_exceeded: 'rate_limit',
  rate_limited: 'rate_limit',
  invalid_api_key: 'auth',
  revoked_api_key: 'auth',
  expired_api_key: 'auth',
  permission_denied: 'auth',
};

export function refusalCategory(code: string): RefusalCategory {
  return Object.hasOwn(CATEGORY_OF, code) ? CATEGORY_OF[code]! : 'other';
}

export interface Totals {
  costNanos: Nanos;
  requests: bigint;
  attempts: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  cachedTokens: bigint;
}

export interface Share {
  batch: Totals;
  interactive: Totals;
  /** batch share of the cost and of the requests in basis points (1/100 %), rounded down */
  batchCostBasisPoints: number;
  batchRequestsBasisPoints: number;
}

export interface TopModel {
  model: string;
  costNanos: Nanos;
  requests: bigint;
}

/** One modality (endpoint) of a scope's week: chat, responses, speech to text, text to speech. */
export interface ModalityFigures {
  endpoint: string;
  unit: string;
  requests: bigint;
  /** billed audio seconds or characters; for tokens, input + output tokens */
  quantity: bigint;
  costNanos: Nanos;
}

export interface ScopeFigures {
  /** team name; null for the org row (and for calls the ledger booked without a team) */
  team: string | null;
  label: string;
  totals: Totals;
  share: Share;
  topModelByCost: TopModel | null;
  topModelByRequests: TopModel | null;
  byModel: (Totals & { model: string })[];
  refusals: Record<RefusalCategory, bigint> & { total: bigint };
  refusalsByCode: { reason: string; count: bigint }[];
  budget: {
    period: string;
    monthToDateNanos: Nanos;
    /** null: no budget (a team only in the ledger) */
    monthlyBudgetNanos: Nanos | null;
    /** MTD / budget in basis points, rounded down; null without a budget or with a zero budget */
    usedBasisPoints: number | null;
    projectedMonthEndNanos: Nanos;
  };
  weekOverWeek: {
    previousCostNanos: Nanos;
    changeNanos: Nanos;
    /** change / previous in basis points, rounded toward zero; null when the previous week was 0 */
    changeBasisPoints: number | null;
  };
  /** cost per day of the week, Monday first */
  dailyCostNanos: Nanos[];
  keyVersions: (Totals & { keyName: string; keyVersion: number })[];
  /** a line per modality (endpoint) with traffic, by endpoint name */
  modalities: ModalityFigures[];
}

export interface WeeklyReport {
  week: string;
  orgName: string;
  timeZone: string;
  start: string;
  end: string;
  days: string[];
  generatedAt: string;
  projectionRule: string;
  org: ScopeFigures;
  teams: ScopeFigures[];
  reconciliation: {
    teamsSumNanos: Nanos;
    ledgerNanos: Nanos;
    matches: boolean;
  };
}

export const PROJECTION_RULE =
  'projected month-end spend = month-to-date spend x days in the month / days elapsed at the end of the week, rounded down to the nano-dollar';

function zeroTotals(): Totals {
  return { costNanos: 0n, requests: 0n, attempts: 0n, inputTokens: 0n, outputTokens: 0n, cachedTokens: 0n };
}

function add(into: Totals, fact: Totals): void {
  into.costNanos += fact.costNanos;
  into.requests += fact.requests;
  into.attempts += fact.attempts;
  into.inputTokens += fact.inputTokens;
  into.outputTokens += fact.outputTokens;
  into.cachedTokens += fact.cachedTokens;
}

/** part / whole in basis points, rounded toward zero; null when whole is 0 */
export function basisPoints(part: bigint, whole: bigint): number | null {
  if (whole === 0n) return null;
  return Number((part * 10_000n) / whole);
}

/** MTD x days in month / days elapsed, rounded down. */
export function projectMonthEnd(monthToDate: Nanos, dayOfMonth: number, daysInMonth: number): Nanos {
  if (dayOfMonth < 1 || dayOfMonth > daysInMonth) throw new RangeError('day of month out of range');
  return (monthToDate * BigInt(daysInMonth)) / BigInt(dayOfMonth);
}

function topBy(models: (Totals & { model: string })[], value: (row: Totals) => bigint): TopModel | null {
  let best: (Totals & { model: string }) | null = null;
  for (const row of models) {
    if (value(row) === 0n) continue;
    if (!best || value(row) > value(best) || (value(row) === value(best) && row.model < best.model))
      best = row;
  }
  return best ? { model: best.model, costNanos: best.costNanos, requests: best.requests } : null;
}

function scopeFigures(
  team: string | null,
  label: string,
  facts: ReportFacts,
  belongs: (team: string | null) => boolean,
  context: ReportContext,
  monthlyBudgetNanos: Nanos | null,
): ScopeFigures {
  const totals = zeroTotals();
  const batch = zeroTotals();
  const interactive = zeroTotals();
  const models = new Map<string, Totals & { model: string }>();
  const keys = new Map<string, Totals & { keyName: string; keyVersion: number }>();
  const daily = Array.from({ length: 7 }, () => 0n);
  const modalities = new Map<string, ModalityFigures>();
  for (const fact of facts.usage) {
    if (!belongs(fact.team)) continue;
    const endpoint = fact.endpoint ?? 'chat.completions';
    const unit = fact.unit ?? 'tokens';
    const line = modalities.get(endpoint) ?? { endpoint, unit, requests: 0n, quantity: 0n, costNanos: 0n };
    line.requests += fact.requests;
    line.quantity += unit === 'tokens' ? fact.inputTokens + fact.outputTokens : (fact.quantity ?? 0n);
    line.costNanos += fact.costNanos;
    modalities.set(endpoint, line);
    add(totals, fact);
    add(fact.batch ? batch : interactive, fact);
    const model = models.get(fact.model) ?? { model: fact.model, ...zeroTotals() };
    add(model, fact);
    models.set(fact.model, model);
    const keyId = `${fact.keyName}\u0000${fact.keyVersion}`;
    const key = keys.get(keyId) ?? { keyName: fact.keyName, keyVersion: fact.keyVersion, ...zeroTotals() };
    add(key, fact);
    keys.set(keyId, key);
    daily[fact.day] = (daily[fact.day] ?? 0n) + fact.costNanos;
  }
  const byModel = [...models.values()].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  const keyVersions = [...keys.values()].sort((a, b) =>
    a.keyName === b.keyName ? a.keyVersion - b.keyVersion : a.keyName < b.keyName ? -1 : 1,
  );

  const refusals = Object.fromEntries(REFUSAL_CATEGORIES.map((c) => [c, 0n])) as Record<
    RefusalCategory,
    bigint
  >;
  const byCode = new Map<string, bigint>();
  let refusalTotal = 0n;
  for (const row of facts.refusals) {
    if (!belongs(row.team)) continue;
    refusals[refusalCategory(row.reason)] += row.count;
    byCode.set(row.reason, (byCode.get(row.reason) ?? 0n) + row.count);
    refusalTotal += row.count;
  }

  const sum = (rows: { team: string | null; costNanos: Nanos }[]) =>
    rows.filter((row) => belongs(row.team)).reduce((total, row) => total + row.costNanos, 0n);
  const monthToDate = sum(facts.monthToDateCost);
  const previous = sum(facts.previousWeekCost);
  const change = totals.costNanos - previous;

  return {
    team,
    label,
    totals,
    share: {
      batch,
      interactive,
      batchCostBasisPoints: basisPoints(batch.costNanos, totals.costNanos) ?? 0,
      batchRequestsBasisPoints: basisPoints(batch.requests, totals.requests) ?? 0,
    },
    topModelByCost: topBy(byModel, (row) => row.costNanos),
    topModelByRequests: topBy(byModel, (row) => row.requests),
    byModel,
    refusals: { ...refusals, total: refusalTotal },
    refusalsByCode: [...byCode.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([reason, count]) => ({ reason, count })),
    budget: {
      period: context.month.period,
      monthToDateNanos: monthToDate,
      monthlyBudgetNanos,
      usedBasisPoints: monthlyBudgetNanos === null ? null : basisPoints(monthToDate, monthlyBudgetNanos),
      projectedMonthEndNanos: projectMonthEnd(
        monthToDate,
        context.month.dayOfMonth,
        context.month.daysInMonth,
      ),
    },
    weekOverWeek: {
      previousCostNanos: previous,
      changeNanos: change,
      changeBasisPoints: basisPoints(change, previous),
    },
    dailyCostNanos: daily,
    keyVersions,
    modalities: [...modalities.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : 1)),
  };
}

/** The label of calls booked without a team (org-level keys). */
export const NO_TEAM_LABEL = '(no team)';

export function buildWeeklyReport(facts: ReportFacts, context: ReportContext): WeeklyReport {
  const configured = context.teams.map((team) => team.name);
  const seen = new Set<string>(configured);
  const extra = new Set<string>();
  let teamless = false;
  for (const row of [
    ...facts.usage,
    ...facts.monthToDateCost,
    ...facts.previousWeekCost,
    ...facts.refusals,
  ]) {
    if (row.team === null) teamless = true;
    else if (!seen.has(row.team)) extra.add(row.team);
  }
  const teams: ScopeFigures[] = context.teams.map((team) =>
    scopeFigures(team.name, team.name, facts, (t) => t === team.name, context, team.monthlyBudgetNanos),
  );
  for (const name of [...extra].sort()) {
    teams.push(scopeFigures(name, `${name} (not configured)`, facts, (t) => t === name, context, null));
  }
  if (teamless) teams.push(scopeFigures(null, NO_TEAM_LABEL, facts, (t) => t === null, context, null));
  const org = scopeFigures(null, context.orgName, facts, () => true, context, context.orgMonthlyCapNanos);
  const teamsSum = teams.reduce((total, team) => total + team.totals.costNanos, 0n);
  return {
    week: context.week,
    orgName: context.orgName,
    timeZone: context.timeZone,
    start: context.start,
    end: context.end,
    days: context.days,
    generatedAt: context.generatedAt,
    projectionRule: PROJECTION_RULE,
    org,
    teams,
    reconciliation: {
      teamsSumNanos: teamsSum,
      ledgerNanos: facts.ledgerWeekCostNanos,
      matches: teamsSum === facts.ledgerWeekCostNanos && org.totals.costNanos === teamsSum,
    },
  };
}

/** The part of a report one team may read: its own row, without the org row or other teams. */
export function teamPart(report: WeeklyReport, team: string): Omit<WeeklyReport, 'org' | 'reconciliation'> {
  const { org: _org, reconciliation: _reconciliation, ...rest } = report;
  return { ...rest, teams: report.teams.filter((row) => row.team === team) };
}
