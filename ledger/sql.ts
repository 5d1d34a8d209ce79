/**
 * The ledger's SQL client abstraction. One dialect (PostgreSQL) and two drivers: embedded PGlite and a
 * `pg` pool against a PostgreSQL server. Both drivers decode int8 and integral numeric values as bigint,
 * so money and token columns (and SUM() over them, which PostgreSQL returns as numeric) are exact.
 */

export type SqlDriver = 'pglite' | 'postgres';

export type SqlRow = Record<string, unknown>;

export interface SqlResult<R = SqlRow> {
  rows: R[];
  /** rows returned by a SELECT / RETURNING, or rows changed by an INSERT/UPDATE/DELETE */
  rowCount: number;
}

/** Something that runs statements: the client itself, a dedicated session or an open transaction. */
export interface SqlQueryable {
  query<R = SqlRow>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
  /** Run a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export interface TransactionOptions {
  /** default 'read committed': the store's atomic operations rely on row locks, not on snapshot checks */
  isolation?: IsolationLevel;
  /** attempts on serialization failures and deadlocks (SQLSTATE 40001, 40P01); default 8 */
  maxAttempts?: number;
}

export interface SqlSession extends SqlQueryable {
  /**
   * Run `fn` in one transaction: COMMIT when it resolves, ROLLBACK when it throws. On PostgreSQL a
   * serialization failure or deadlock (or a RetryTransaction thrown by `fn`) rolls back and runs `fn`
   * again, so `fn` must only touch the database through `tx`. On PGlite transactions run one at a time.
   */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
}

export interface SqlClient extends SqlSession {
  readonly driver: SqlDriver;
  /**
   * Run `fn` on one dedicated session while holding an exclusive lock named by `key`. On PostgreSQL this
   * is a session advisory lock, so it excludes other processes too; on PGlite an in-process mutex.
   */
  withLock<T>(key: bigint, fn: (session: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Thrown inside a transaction callback to roll back and run the callback again. */
export class RetryTransaction extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'RetryTransaction';
  }
}

export class TransactionRetriesExhausted extends Error {
  constructor(
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(`transaction failed after ${attempts} attempts: ${errorMessage(cause)}`);
    this.name = 'TransactionRetriesExhausted';
  }
}

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

export function sqlState(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof RetryTransaction) return true;
  const code = sqlState(error);
  return code !== undefined && RETRYABLE_SQLSTATES.has(code);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Run `attempt` until it succeeds, retrying retryable failures with a short jittered backoff. */
export async function withRetries<T>(maxAttempts: number, attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isRetryable(error)) throw error;
      if (n >= maxAttempts) throw new TransactionRetriesExhausted(n, error);
      const backoffMs = Math.random() * Math.min(50, 2 ** n);
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
    }
  }
}

export const DEFAULT_MAX_ATTEMPTS = 8;

const INTEGER_TEXT = /^-?\d+$/;
const INTEGRAL_DECIMAL = /^(-?\d+)\.0*$/;

/** int8 text -> bigint */
export function parseInt8(text: string): bigint {
  return BigInt(text);
}

/** numeric text -> bigint when integral (SUM over int8 is numeric); other values stay exact strings. */
export function parseNumeric(text: string): bigint | string {
  if (INTEGER_TEXT.test(text)) return BigInt(text);
  const integral = INTEGRAL_DECIMAL.exec(text);
  if (integral?.[1] !== undefined) return BigInt(integral[1]);
  return text;
}

export const PG_OID = { INT8: 20, NUMERIC: 1700 } as const;

/** A FIFO async mutex: `run` calls execute one at a time in call order. */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

// ---- row decoding helpers shared by the store modules -------------------------------------------------

export function asBigint(value: unknown, column: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && INTEGER_TEXT.test(value)) return BigInt(value);
  throw new TypeError(`column ${column}: expected an integer, got ${typeof value} ${String(value)}`);
}

export function asNullableBigint(value: unknown, column: string): bigint | null {
  return value === null || value === undefined ? null : asBigint(value, column);
}

/** Small integer column (int4, or int8 known to fit) -> number. */
export function asNumber(value: unknown, column: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new RangeError(`column ${column}: ${value} is not a safe integer`);
    return n;
  }
  throw new TypeError(`column ${column}: expected a number, got ${typeof value}`);
}

export function asNullableNumber(value: unknown, column: string): number | null {
  return value === null || value === undefined ? null : asNumber(value, column);
}

export function asString(value: unknown, column: string): string {
  if (typeof value === 'string') return value;
  throw new TypeError(`column ${column}: expected text, got ${typeof value}`);
}

export function asNullableString(value: unknown, column: string): string | null {
  return value === null || value === undefined ? null : asString(value, column);
}

export function asDate(value: unknown, column: string): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'string') return new Date(value);
  throw new TypeError(`column ${column}: expected a timestamp, got ${typeof value}`);
}

export function asNullableDate(value: unknown, column: string): Date | null {
  return value === null || value === undefined ? null : asDate(value, column);
}

/** JSON text for a jsonb parameter; bigints become decimal strings, so nanos survive exactly. */
export function toJsonText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
