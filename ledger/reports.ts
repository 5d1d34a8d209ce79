/**
 * The weekly report's reads: usage of a week grouped by team, model, batch flag, upstream key version
 * and local day, the cost of the week before, the month-to-date cost and the refusals. A usage row
 * belongs to the week of its `started_at`; sums are bigint, so they are exact.
 */
import type { GovernorConfig } from '../domain/config';
import type { Nanos } from '../domain/money';
import {
  buildWeeklyReport,
  type ReportFacts,
  type UsageFact,
  type WeeklyReport,
} from '../domain/reports/figures';
import { monthOfWeek, weekBounds } from '../domain/reports/iso-week';
import { assertPeriod } from './period';
import { asBigint, asNullableString, asNumber, asString, type SqlQueryable } from './sql';

export interface ReportWindow {
  /** the week's local midnights: 8 instants, Monday to the next Monday */
  midnights: Date[];
  /** the budget month of the week ("YYYY-MM") */
  monthPeriod: string;
}

function costRows(rows: Record<string, unknown>[]): { team: string | null; costNanos: Nanos }[] {
  return rows.map((row) => ({
    team: asNullableString(row.team, 'team'),
    costNanos: asBigint(row.cost_nanos, 'cost_nanos'),
  }));
}

export async function reportFacts(db: SqlQueryable, window: ReportWindow): Promise<ReportFacts> {
  if (window.midnights.length !== 8) throw new RangeError('a week has 8 midnights');
  assertPeriod(window.monthPeriod);
  const iso = window.midnights.map((at) => at.toISOString());
  const start = iso[0]!;
  const end = iso[7]!;
  const inner = iso.slice(1, 7);
  const previousStart = new Date(window.midnights[0]!.getTime() - 7 * 86_400_000).toISOString();

  const usage = await db.query(
    `WITH week AS (
       SELECT *, row_number() OVER (PARTITION BY request_id ORDER BY attempt) AS nth
         FROM usage_records
        WHERE started_at >= $1::timestamptz AND started_at < $2::timestamptz
     )
     SELECT team, model, batch, key_name, key_version, endpoint, unit,
            width_bucket(started_at, $3::timestamptz[]) AS day,
            COUNT(*) FILTER (WHERE nth = 1) AS requests, COUNT(*) AS attempts,
            COALESCE(SUM(prompt_tokens), 0) AS input_tokens,
            COALESCE(SUM(completion_tokens), 0) AS output_tokens,
            COALESCE(SUM(cached_tokens), 0) AS cached_tokens,
            COALESCE(SUM(cost_nanos), 0) AS cost_nanos, COALESCE(SUM(quantity), 0) AS quantity
       FROM week
      GROUP BY team, model, batch, key_name, key_version, endpoint, unit, day
      ORDER BY team NULLS FIRST, model, batch, key_name, key_version, endpoint, day`,
    [start, end, inner],
  );
  const facts: UsageFact[] = usage.rows.map((row) => ({
    team: asNullableString(row.team, 'team'),
    model: asString(row.model, 'model'),
    batch: row.batch === true,
    keyName: asString(row.key_name, 'key_name'),
    keyVersion: asNumber(row.key_version, 'key_version'),
    day: Number(row.day),
    requests: asBigint(row.requests, 'requests'),
    attempts: asBigint(row.attempts, 'attempts'),
    inputTokens: asBigint(row.input_tokens, 'input_tokens'),
    outputTokens: asBigint(row.output_tokens, 'output_tokens'),
    cachedTokens: asBigint(row.cached_tokens, 'cached_tokens'),
    costNanos: asBigint(row.cost_nanos, 'cost_nanos'),
    endpoint: asString(row.endpoint, 'endpoint'),
    unit: asString(row.unit, 'unit'),
    quantity: asBigint(row.quantity, 'quantity'),
  }));

  const previous = await db.query(
    `SELECT team, COALESCE(SUM(cost_nanos), 0) AS cost_nanos FROM usage_records
      WHERE started_at >= $1::timestamptz AND started_at < $2::timestamptz
      GROUP BY team ORDER BY team NULLS FIRST`,
    [previousStart, start],
  );
  const monthToDate = await db.query(
    `SELECT team, COALESCE(SUM(cost_nanos), 0) AS cost_nanos FROM usage_records
      WHERE period = $1 AND started_at < $2::timestamptz
      GROUP BY team ORDER BY team NULLS FIRST`,
    [window.monthPeriod, end],
  );
  const refusals = await db.query(
    `SELECT team, reason, COUNT(*) AS count FROM refusals
      WHERE at >= $1::timestamptz AND at < $2::timestamptz
      GROUP BY team, reason ORDER BY team NULLS FIRST, reason`,
    [start, end],
  );
  const ledger = await db.query(
    `SELECT COALESCE(SUM(cost_nanos), 0) AS cost_nanos FROM usage_records
      WHERE started_at >= $1::timestamptz AND started_at < $2::timestamptz`,
    [start, end],
  );
  return {
    usage: facts,
    previousWeekCost: costRows(previous.rows),
    monthToDateCost: costRows(monthToDate.rows),
    refusals: refusals.rows.map((row) => ({
      team: asNullableString(row.team, 'team'),
      reason: asString(row.reason, 'reason'),
      count: asBigint(row.count, 'count'),
    })),
    ledgerWeekCostNanos: asBigint(ledger.rows[0]?.cost_nanos ?? 0n, 'cost_nanos'),
  };
}

/** The whole report of a week, from the ledger and the configuration's teams and budgets. */
export async function loadWeeklyReport(
  db: SqlQueryable,
  config: GovernorConfig,
  week: string,
  generatedAt: Date,
): Promise<WeeklyReport> {
  const timeZone = config.org.timezone;
  const bounds = weekBounds(week, timeZone);
  const month = monthOfWeek(bounds.week);
  const facts = await reportFacts(db, { midnights: bounds.midnights, monthPeriod: month.period });
  return buildWeeklyReport(facts, {
    week: bounds.week,
    timeZone,
    orgName: config.org.name,
    start: bounds.start.toISOString(),
    end: bounds.end.toISOString(),
    days: bounds.days,
    month,
    teams: [...config.teams.values()].map((team) => ({
      name: team.name,
      monthlyBudgetNanos: team.monthlyBudgetNanos,
    })),
    orgMonthlyCapNanos: config.org.monthlyCapNanos,
    generatedAt: generatedAt.toISOString(),
  });
}
