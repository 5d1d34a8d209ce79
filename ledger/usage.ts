/**
 * Usage records (one row per upstream attempt) and refusals, with the report queries over them. Every
 * sum is done by PostgreSQL over bigint columns and decoded as bigint, so totals are exact.
 */
import type { Nanos } from '../domain/money';
import { assertPeriod } from './period';
import {
  asBigint,
  asDate,
  asNullableDate,
  asNullableNumber,
  asNullableString,
  asNumber,
  asString,
  type SqlQueryable,
  type SqlRow,
} from './sql';

export type AttemptOutcome = 'success' | 'error' | 'unknown' | 'cut';
const OUTCOMES: readonly AttemptOutcome[] = ['success', 'error', 'unknown', 'cut'];

type Count = number | bigint;

export interface UsageAttempt {
  requestId: string;
  /** attempt number within the request (0 or 1 based, the caller's choice, but consistent) */
  attempt: number;
  period: string;
  team: string | null;
  model: string;
  /** the upstream (Groq) key used, by name and rotation version */
  keyName: string;
  keyVersion: number;
  /** the gateway key that made the call, if any */
  gatewayKeyId?: string | null;
  reservationId?: string | null;
  promptTokens: Count;
  completionTokens: Count;
  cachedTokens?: Count;
  costNanos: Nanos;
  batch?: boolean;
  upstreamRequestId?: string | null;
  httpStatus?: number | null;
  outcome: AttemptOutcome;
  startedAt: Date;
  finishedAt?: Date | null;
}

export interface UsageRecord {
  requestId: string;
  attempt: number;
  period: string;
  team: string | null;
  model: string;
  keyName: string;
  keyVersion: number;
  gatewayKeyId: string | null;
  reservationId: string | null;
  promptTokens: bigint;
  completionTokens: bigint;
  cachedTokens: bigint;
  costNanos: Nanos;
  batch: boolean;
  upstreamRequestId: string | null;
  httpStatus: number | null;
  outcome: AttemptOutcome;
  startedAt: Date;
  finishedAt: Date | null;
  recordedAt: Date;
}

const USAGE_COLUMNS = `request_id, attempt, period, team, model, key_name, key_version, gateway_key_id, reservation_id,
  prompt_tokens, completion_tokens, cached_tokens, cost_nanos, batch, upstream_request_id, http_status, outcome,
  started_at, finished_at, recorded_at`;

function toUsage(row: SqlRow): UsageRecord {
  return {
    requestId: asString(row.request_id, 'request_id'),
    attempt: asNumber(row.attempt, 'attempt'),
    period: asString(row.period, 'period'),
    team: asNullableString(row.team, 'team'),
    model: asString(row.model, 'model'),
    keyName: asString(row.key_name, 'key_name'),
    keyVersion: asNumber(row.key_version, 'key_version'),
    gatewayKeyId: asNullableString(row.gateway_key_id, 'gateway_key_id'),
    reservationId: asNullableString(row.reservation_id, 'reservation_id'),
    promptTokens: asBigint(row.prompt_tokens, 'prompt_tokens'),
    completionTokens: asBigint(row.completion_tokens, 'completion_tokens'),
    cachedTokens: asBigint(row.cached_tokens, 'cached_tokens'),
    costNanos: asBigint(row.cost_nanos, 'cost_nanos'),
    batch: row.batch === true,
    upstreamRequestId: asNullableString(row.upstream_request_id, 'upstream_request_id'),
    httpStatus: asNullableNumber(row.http_status, 'http_status'),
    outcome: asString(row.outcome, 'outcome') as AttemptOutcome,
    startedAt: asDate(row.started_at, 'started_at'),
    finishedAt: asNullableDate(row.finished_at, 'finished_at'),
    recordedAt: asDate(row.recorded_at, 'recorded_at'),
  };
}

function count(name: string, value: Count | undefined): bigint {
  const big = typeof value === 'bigint' ? value : BigInt(checkSafe(name, value ?? 0));
  if (big < 0n) throw new RangeError(`${name} must be >= 0`);
  return big;
}

function checkSafe(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be a whole number, got ${value}`);
  return value;
}

/**
 * A usage row's values in the column order of its INSERT (request_id ... finished_at), checked: the
 * period's form, a known outcome, whole non-negative counts and cost, cached tokens within the prompt.
 */
export function usageParams(attempt: UsageAttempt): unknown[] {
  assertPeriod(attempt.period);
  if (!OUTCOMES.includes(attempt.outcome)) throw new RangeError(`unknown outcome ${attempt.outcome}`);
  if (typeof attempt.costNanos !== 'bigint' || attempt.costNanos < 0n) {
    throw new RangeError('costNanos must be a bigint >= 0');
  }
  const prompt = count('promptTokens', attempt.promptTokens);
  const cached = count('cachedTokens', attempt.cachedTokens);
  if (cached > prompt) throw new RangeError('cachedTokens cannot exceed promptTokens');
  return [
    attempt.requestId,
    checkSafe('attempt', attempt.attempt),
    attempt.period,
    attempt.team,
    attempt.model,
    attempt.keyName,
    checkSafe('keyVersion', attempt.keyVersion),
    attempt.gatewayKeyId ?? null,
    attempt.reservationId ?? null,
    prompt,
    count('completionTokens', attempt.completionTokens),
    cached,
    attempt.costNanos,
    attempt.batch ?? false,
    attempt.upstreamRequestId ?? null,
    attempt.httpStatus ?? null,
    attempt.outcome,
    attempt.startedAt,
    attempt.finishedAt ?? null,
  ];
}

/**
 * Record one upstream attempt. Idempotent on (requestId, attempt): the first write wins and a repeat
 * returns the stored row with inserted: false.
 */
export async function recordUsage(
  db: SqlQueryable,
  attempt: UsageAttempt,
): Promise<{ inserted: boolean; record: UsageRecord }> {
  const params = usageParams(attempt);
  const inserted = await db.query(
    `INSERT INTO usage_records (request_id, attempt, period, team, model, key_name, key_version, gateway_key_id,
       reservation_id, prompt_tokens, completion_tokens, cached_tokens, cost_nanos, batch, upstream_request_id,
       http_status, outcome, started_at, finished_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
     ON CONFLICT (request_id, attempt) DO NOTHING
     RETURNING ${USAGE_COLUMNS}`,
    params,
  );
  if (inserted.rows[0]) return { inserted: true, record: toUsage(inserted.rows[0]) };
  const existing = await db.query(
    `SELECT ${USAGE_COLUMNS} FROM usage_records WHERE request_id = $1 AND attempt = $2`,
    [attempt.requestId, attempt.attempt],
  );
  if (!existing.rows[0]) throw new Error(`usage ${attempt.requestId}#${attempt.attempt} vanished`);
  return { inserted: false, record: toUsage(existing.rows[0]) };
}

export interface UsageFilter {
  period?: string;
  /** a team name, or null for org-level calls */
  team?: string | null;
  model?: string;
  keyName?: string;
  keyVersion?: number;
  gatewayKeyId?: string;
  /** keyset pagination: rows strictly after this (requestId, attempt) */
  after?: { requestId: string; attempt: number };
  /** default 1000 */
  limit?: number;
}

function whereOf(filter: Omit<UsageFilter, 'after' | 'limit'>, params: unknown[]): string[] {
  const where: string[] = [];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (filter.period !== undefined) add('period = ?', filter.period);
  if (filter.team === null) where.push('team IS NULL');
  else if (filter.team !== undefined) add('team = ?', filter.team);
  if (filter.model !== undefined) add('model = ?', filter.model);
  if (filter.keyName !== undefined) add('key_name = ?', filter.keyName);
  if (filter.keyVersion !== undefined) add('key_version = ?', filter.keyVersion);
  if (filter.gatewayKeyId !== undefined) add('gateway_key_id = ?', filter.gatewayKeyId);
  return where;
}

/** Usage rows ordered by (request_id, attempt); page with `after` set to the last row of a page. */
export async function listUsage(db: SqlQueryable, filter: UsageFilter = {}): Promise<UsageRecord[]> {
  const params: unknown[] = [];
  const where = whereOf(filter, params);
  if (filter.after) {
    params.push(filter.after.requestId, filter.after.attempt);
    where.push(`(request_id, attempt) > ($${params.length - 1}, $${params.length})`);
  }
  params.push(filter.limit ?? 1000);
  const { rows } = await db.query(
    `SELECT ${USAGE_COLUMNS} FROM usage_records ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY request_id, attempt LIMIT $${params.length}`,
    params,
  );
  return rows.map(toUsage);
}

export interface UsageTotals {
  /** the grouping key (model name, team name or null) */
  key: string | null;
  attempts: bigint;
  promptTokens: bigint;
  completionTokens: bigint;
  cachedTokens: bigint;
  costNanos: Nanos;
}

async function totalsBy(
  db: SqlQueryable,
  column: 'model' | 'team',
  filter: Omit<UsageFilter, 'after' | 'limit'>,
): Promise<UsageTotals[]> {
  const params: unknown[] = [];
  const where = whereOf(filter, params);
  const { rows } = await db.query(
    `SELECT ${column} AS key, COUNT(*) AS attempts,
            COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens, COALESCE(SUM(completion_tokens), 0) AS completion_tokens,
            COALESCE(SUM(cached_tokens), 0) AS cached_tokens, COALESCE(SUM(cost_nanos), 0) AS cost_nanos
       FROM usage_records ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      GROUP BY ${column} ORDER BY ${column} NULLS FIRST`,
    params,
  );
  return rows.map((row) => ({
    key: asNullableString(row.key, 'key'),
    attempts: asBigint(row.attempts, 'attempts'),
    promptTokens: asBigint(row.prompt_tokens, 'prompt_tokens'),
    completionTokens: asBigint(row.completion_tokens, 'completion_tokens'),
    cachedTokens: asBigint(row.cached_tokens, 'cached_tokens'),
    costNanos: asBigint(row.cost_nanos, 'cost_nanos'),
  }));
}

/** Totals per model (filter by period, team, key...). */
export function usageTotalsByModel(db: SqlQueryable, filter: Omit<UsageFilter, 'after' | 'limit'> = {}) {
  return totalsBy(db, 'model', filter);
}

/** Totals per team (null: org-level calls). */
export function usageTotalsByTeam(db: SqlQueryable, filter: Omit<UsageFilter, 'after' | 'limit'> = {}) {
  return totalsBy(db, 'team', filter);
}

// ---- refusals -------------------------------------------------------------------------------------------

export interface RefusalInput {
  requestId: string;
  period: string;
  team: string | null;
  /** a stable reason code, e.g. 'team_budget', 'rate_limited', 'model_not_allowed' */
  reason: string;
  detail?: string | null;
  at: Date;
}

/** Record a refused request; idempotent on requestId (returns false when it was already recorded). */
export async function recordRefusal(db: SqlQueryable, refusal: RefusalInput): Promise<boolean> {
  assertPeriod(refusal.period);
  if (!refusal.reason) throw new RangeError('reason is required');
  const result = await db.query(
    `INSERT INTO refusals (request_id, period, team, reason, detail, at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (request_id) DO NOTHING`,
    [refusal.requestId, refusal.period, refusal.team, refusal.reason, refusal.detail ?? null, refusal.at],
  );
  return result.rowCount === 1;
}

export async function refusalCounts(
  db: SqlQueryable,
  filter: { period?: string; team?: string | null } = {},
): Promise<{ reason: string; count: bigint }[]> {
  const params: unknown[] = [];
  const where: string[] = [];
  if (filter.period !== undefined) {
    params.push(filter.period);
    where.push(`period = $${params.length}`);
  }
  if (filter.team === null) where.push('team IS NULL');
  else if (filter.team !== undefined) {
    params.push(filter.team);
    where.push(`team = $${params.length}`);
  }
  const { rows } = await db.query(
    `SELECT reason, COUNT(*) AS count FROM refusals ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     GROUP BY reason ORDER BY reason`,
    params,
  );
  return rows.map((row) => ({ reason: asString(row.reason, 'reason'), count: asBigint(row.count, 'count') }));
}
