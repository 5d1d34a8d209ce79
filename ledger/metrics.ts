/**
 * What `/metrics` reads from the ledger at scrape time: per team, model, outcome and kind, the attempts,
 * tokens, cost, upstream latency and rate-limit wait of one period, and refusals by reason. Read from the
 * shared database, the figures are the deployment's, whichever process served the requests.
 */
import type { Nanos } from '../domain/money';
import { assertPeriod } from './period';
import { asBigint, asNullableString, asString, type SqlQueryable } from './sql';

export interface UsageMetricRow {
  team: string | null;
  model: string;
  outcome: string;
  batch: boolean;
  attempts: bigint;
  promptTokens: bigint;
  completionTokens: bigint;
  cachedTokens: bigint;
  costNanos: Nanos;
  /** sum over finished attempts of (finished_at - started_at), ms */
  upstreamMs: bigint;
  finished: bigint;
  /** sum over attempts with a reservation of (started_at - reservation created_at), ms: admission waits */
  waitMs: bigint;
  waited: bigint;
}

export interface RefusalMetricRow {
  team: string | null;
  reason: string;
  count: bigint;
}

export interface MetricsSnapshot {
  usage: UsageMetricRow[];
  refusals: RefusalMetricRow[];
}

const ms = (interval: string) => `(EXTRACT(EPOCH FROM ${interval}) * 1000)::bigint`;

export async function metricsSnapshot(db: SqlQueryable, period: string): Promise<MetricsSnapshot> {
  assertPeriod(period);
  const usage = await db.query(
    `SELECT u.team, u.model, u.outcome, u.batch, COUNT(*) AS attempts,
            SUM(u.prompt_tokens) AS prompt_tokens, SUM(u.completion_tokens) AS completion_tokens,
            SUM(u.cached_tokens) AS cached_tokens, SUM(u.cost_nanos) AS cost_nanos,
            COALESCE(SUM(${ms('(u.finished_at - u.started_at)')}), 0) AS upstream_ms,
            COUNT(u.finished_at) AS finished,
            COALESCE(SUM(GREATEST(0, ${ms('(u.started_at - r.created_at)')})), 0) AS wait_ms,
            COUNT(r.id) AS waited
       FROM usage_records u LEFT JOIN budget_reservations r ON r.id = u.reservation_id
      WHERE u.period = $1
      GROUP BY u.team, u.model, u.outcome, u.batch
      ORDER BY u.team NULLS FIRST, u.model, u.outcome, u.batch`,
    [period],
  );
  const refusals = await db.query(
    `SELECT team, reason, COUNT(*) AS count FROM refusals WHERE period = $1
      GROUP BY team, reason ORDER BY team NULLS FIRST, reason`,
    [period],
  );
  return {
    usage: usage.rows.map((row) => ({
      team: asNullableString(row.team, 'team'),
      model: asString(row.model, 'model'),
      outcome: asString(row.outcome, 'outcome'),
      batch: row.batch === true,
      attempts: asBigint(row.attempts, 'attempts'),
      promptTokens: asBigint(row.prompt_tokens, 'prompt_tokens'),
      completionTokens: asBigint(row.completion_tokens, 'completion_tokens'),
      cachedTokens: asBigint(row.cached_tokens, 'cached_tokens'),
      costNanos: asBigint(row.cost_nanos, 'cost_nanos'),
      upstreamMs: asBigint(row.upstream_ms, 'upstream_ms'),
      finished: asBigint(row.finished, 'finished'),
      waitMs: asBigint(row.wait_ms, 'wait_ms'),
      waited: asBigint(row.waited, 'waited'),
    })),
    refusals: refusals.rows.map((row) => ({
      team: asNullableString(row.team, 'team'),
      reason: asString(row.reason, 'reason'),
      count: asBigint(row.count, 'count'),
    })),
  };
}
