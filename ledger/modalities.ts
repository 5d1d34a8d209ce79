/**
 * The ledger side of speech to text, text to speech and the Responses API: booking a call with its unit
 * and endpoint (the same steps as `bookCompletion`, in one transaction), Groq's audio-seconds limits
 * (ASH/ASD) shared by every process, uploads stored by reference, and usage totals per endpoint.
 */
import type { Nanos } from '../domain/money';
import type { UsageUnit } from '../domain/modality-pricing';
import { settle } from './budgets';
import { inTransaction } from './completion-path';
import { assertPeriod } from './period';
import { correctTokens, recordUpstreamHeaders, releaseLease } from './ratelimit';
import { asBigint, asNullableString, asNumber, asString, type SqlQueryable, type SqlSession } from './sql';
import type { HeaderSource, UpstreamObservation } from './upstream-headers';
import { recordUsage, type UsageAttempt } from './usage';

export const HOUR_MS = 3_600_000;
export const DAY_MS_AUDIO = 86_400_000;

/** Which endpoint a usage row is for. */
export type UsageEndpoint =
  'chat.completions' | 'responses' | 'audio.transcriptions' | 'audio.translations' | 'audio.speech';

export interface UnitOfUse {
  endpoint: UsageEndpoint;
  unit: UsageUnit;
  /** billed audio seconds or characters; 0 for tokens */
  quantity: number;
}

/** Write a usage row with its endpoint and unit (idempotent on request and attempt, as recordUsage). */
export async function recordUnitUsage(db: SqlQueryable, usage: UsageAttempt, unit: UnitOfUse): Promise<void> {
  await recordUsage(db, usage);
  await db.query(
    'UPDATE usage_records SET endpoint = $3, unit = $4, quantity = $5 WHERE request_id = $1 AND attempt = $2',
    [usage.requestId, usage.attempt, unit.endpoint, unit.unit, unit.quantity],
  );
}

export interface BookUnitsInput extends UnitOfUse {
  reservationId: string;
  cost: Nanos;
  usage: UsageAttempt;
  leaseId: string;
  /** tokens for the limiter's correction (responses; characters for speech; 0 for audio) */
  actualTokens: number;
  model: string;
  headers: HeaderSource | UpstreamObservation;
  now: number;
}

/**
 * Book a call in one transaction: settle the reservation at the exact cost, write the usage row with its
 * unit, feed Groq's rate-limit headers, correct the token count and the audio seconds to what was billed
 * and end the lease. A repeat (booked before) changes nothing.
 */
export async function bookUnits(db: SqlSession, input: BookUnitsInput): Promise<void> {
  await db.transaction(async (tx) => {
    const session = inTransaction(tx);
    if (!(await settle(session, input.reservationId, input.cost)).changed) return;
    await recordUnitUsage(tx, input.usage, input);
    await recordUpstreamHeaders(session, input.model, input.headers, input.now);
    await correctTokens(session, { leaseId: input.leaseId, actualTokens: input.actualTokens });
    if (input.unit === 'audio_seconds') {
      await tx.query('UPDATE audio_admissions SET seconds = $2 WHERE lease_id = $1', [
        input.leaseId,
        input.quantity,
      ]);
    }
    await releaseLease(tx, input.leaseId, input.now);
  });
}

// ---- audio seconds per hour and per day ------------------------------------------------------------------

export interface AudioBucket {
  key: string;
  /** audio seconds per hour */
  ash: number;
  /** audio seconds per day */
  asd: number;
}

export type AudioAdmission = { admitted: true } | { admitted: false; retryAfterMs: number | null };

/**
 * Admit `seconds` of audio against every bucket's hour and day, or against none; idempotent per lease.
 * Bucket rows are locked in one global order (as the request limiter does), so concurrent admissions
 * of one bucket run one after the other in any process and a limit is never exceeded by a race.
 */
export async function tryAcquireAudio(
  db: SqlSession,
  input: { buckets: AudioBucket[]; seconds: number; leaseId: string; now: number },
): Promise<AudioAdmission> {
  const { seconds, leaseId, now } = input;
  if (!Number.isSafeInteger(seconds) || seconds < 0)
    throw new RangeError('seconds must be a whole number >= 0');
  if (input.buckets.length === 0) return { admitted: true };
  return db.transaction(async (tx) => {
    const keys = [...new Set(input.buckets.map((bucket) => bucket.key))].sort((a, b) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b)),
    );
    await tx.query(
      `INSERT INTO audio_buckets (bucket) SELECT unnest($1::text[])
       ON CONFLICT (bucket) DO UPDATE SET bucket = EXCLUDED.bucket RETURNING bucket`,
      [keys],
    );
    const earlier = await tx.query('SELECT 1 FROM audio_admissions WHERE lease_id = $1 LIMIT 1', [leaseId]);
    if (earlier.rows.length > 0) return { admitted: true } as const;
    let wait = 0;
    for (const bucket of input.buckets) {
      for (const [limit, windowMs] of [
        [bucket.ash, HOUR_MS],
        [bucket.asd, DAY_MS_AUDIO],
      ] as const) {
        if (seconds > limit) return { admitted: false, retryAfterMs: null } as const;
        const { rows } = await tx.query(
          'SELECT at, seconds FROM audio_admissions WHERE bucket = $1 AND at > $2 ORDER BY at',
          [bucket.key, now - windowMs],
        );
        const entries = rows.map((row) => ({
          at: asNumber(row.at, 'at'),
          seconds: asNumber(row.seconds, 'seconds'),
        }));
        let used = entries.reduce((sum, entry) => sum + entry.seconds, 0);
        if (used + seconds <= limit) continue;
        // room comes back as the oldest admissions leave the window
        for (const entry of entries) {
          used -= entry.seconds;
          if (used + seconds <= limit) {
            wait = Math.max(wait, entry.at + windowMs - now + 1);
            break;
          }
        }
      }
    }
    if (wait > 0) return { admitted: false, retryAfterMs: wait } as const;
    for (const bucket of input.buckets) {
      await tx.query('INSERT INTO audio_admissions (lease_id, bucket, at, seconds) VALUES ($1, $2, $3, $4)', [
        leaseId,
        bucket.key,
        now,
        seconds,
      ]);
    }
    return { admitted: true } as const;
  });
}

/** Forget a lease's audio seconds: the call never happened, or Groq refused it (it counts nothing). */
export async function releaseAudio(db: SqlQueryable, leaseId: string): Promise<void> {
  await db.query('DELETE FROM audio_admissions WHERE lease_id = $1', [leaseId]);
}

/** Audio seconds counted in a bucket's last hour and day (tests, metrics). */
export async function audioSecondsUsed(
  db: SqlQueryable,
  bucket: string,
  now: number,
): Promise<{ hour: number; day: number }> {
  const { rows } = await db.query(
    `SELECT COALESCE(SUM(seconds) FILTER (WHERE at > $2), 0) AS hour, COALESCE(SUM(seconds), 0) AS day
       FROM audio_admissions WHERE bucket = $1 AND at > $3`,
    [bucket, now - HOUR_MS, now - DAY_MS_AUDIO],
  );
  return { hour: asNumber(rows[0]?.hour ?? 0, 'hour'), day: asNumber(rows[0]?.day ?? 0, 'day') };
}

export function audioBucket(model: string): string {
  return `audio:${model}`;
}

// ---- uploads by reference ----------------------------------------------------------------------------------

export interface StoredUpload {
  id: string;
  team: string | null;
  filename: string;
  bytes: number;
  sealed: Buffer;
}

export async function putUpload(db: SqlQueryable, upload: StoredUpload): Promise<void> {
  await db.query(
    'INSERT INTO audio_blobs (id, team, filename, bytes, sealed) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING',
    [upload.id, upload.team, upload.filename, upload.bytes, upload.sealed],
  );
}

export async function getUpload(db: SqlQueryable, id: string): Promise<StoredUpload | null> {
  const { rows } = await db.query('SELECT id, team, filename, bytes, sealed FROM audio_blobs WHERE id = $1', [
    id,
  ]);
  const row = rows[0];
  if (!row) return null;
  return {
    id: asString(row.id, 'id'),
    team: asNullableString(row.team, 'team'),
    filename: asString(row.filename, 'filename'),
    bytes: asNumber(row.bytes, 'bytes'),
    sealed: Buffer.from(row.sealed as Uint8Array),
  };
}

export async function deleteUpload(db: SqlQueryable, id: string): Promise<void> {
  await db.query('DELETE FROM audio_blobs WHERE id = $1', [id]);
}

// ---- usage per endpoint ------------------------------------------------------------------------------------

export interface EndpointUsage {
  endpoint: string;
  unit: UsageUnit;
  team: string | null;
  model: string;
  requests: bigint;
  /** billed audio seconds or characters (0 for tokens) */
  quantity: bigint;
  promptTokens: bigint;
  completionTokens: bigint;
  costNanos: Nanos;
}

/** Successful (and unknown: charged) usage per endpoint, unit, team and model in a period. */
export async function usageByEndpoint(
  db: SqlQueryable,
  filter: { period: string; team?: string },
): Promise<EndpointUsage[]> {
  assertPeriod(filter.period);
  const params: unknown[] = [filter.period];
  let where = 'period = $1';
  if (filter.team !== undefined) {
    params.push(filter.team);
    where += ' AND team = $2';
  }
  const { rows } = await db.query(
    `SELECT endpoint, unit, team, model, COUNT(*) AS requests, COALESCE(SUM(quantity), 0) AS quantity,
            COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens, COALESCE(SUM(completion_tokens), 0) AS completion_tokens,
            COALESCE(SUM(cost_nanos), 0) AS cost_nanos
       FROM usage_records WHERE ${where} AND outcome <> 'error'
      GROUP BY endpoint, unit, team, model ORDER BY endpoint, team NULLS FIRST, model`,
    params,
  );
  return rows.map((row) => ({
    endpoint: asString(row.endpoint, 'endpoint'),
    unit: asString(row.unit, 'unit') as UsageUnit,
    team: asNullableString(row.team, 'team'),
    model: asString(row.model, 'model'),
    requests: asBigint(row.requests, 'requests'),
    quantity: asBigint(row.quantity, 'quantity'),
    promptTokens: asBigint(row.prompt_tokens, 'prompt_tokens'),
    completionTokens: asBigint(row.completion_tokens, 'completion_tokens'),
    costNanos: asBigint(row.cost_nanos, 'cost_nanos'),
  }));
}
