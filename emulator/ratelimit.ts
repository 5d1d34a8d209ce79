/**
 * Rate limits per organization and model: RPM, RPD, TPM, TPD. Two window kinds (config
 * `rateLimits.algorithm`):
 *
 * - `bucket` (default, how Groq's headers behave): each limit L over a window W is a bucket holding at
 *   most L that refills continuously at L/W. A request needs its amount available; "remaining" is the
 *   whole part of the level; "reset" is the time until the bucket is full again. Arithmetic is exact
 *   (bigint, level scaled by W), so waits are exact to the nanosecond.
 * - `fixed`: counters that reset at clock-aligned boundaries (each UTC minute / UTC day); "reset" is the
 *   time to the next boundary while anything is used.
 *
 * What a chat completion counts (see completions.ts): 1 request against RPM and RPD; against TPM and TPD
 * its uncached prompt tokens plus its completion allowance at admission, corrected to the actual
 * uncached prompt + completion tokens once the response is done. Cached prompt tokens never count.
 */
import { formatGoDuration, formatResetDuration, retryAfterSeconds } from './duration';
import { GroqError } from './errors';
import type { RateLimits } from './catalog';

export type WindowAlgorithm = 'bucket' | 'fixed';

const NS_PER_MS = 1_000_000n;
export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

export interface RateWindow {
  readonly windowMs: number;
  limit: number;
  /** whole units available now (may be negative after a correction) */
  available(now: number): number;
  /** use `amount` (no check) */
  take(now: number, amount: number): void;
  /** give back `amount` (a correction); never above the limit */
  give(now: number, amount: number): void;
  /** nanoseconds until `amount` is available: 0n if it is now, null if it never can be (amount > limit) */
  waitNanos(now: number, amount: number): bigint | null;
  /** nanoseconds until the window is back to its full limit */
  resetNanos(now: number): bigint;
  clear(): void;
}

function ms(now: number): bigint {
  return BigInt(Math.floor(now));
}

function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return numerator <= 0n ? 0n : (numerator + denominator - 1n) / denominator;
}

/** Continuous-refill bucket. The level is kept scaled by the window length, so refill is integral. */
export class BucketWindow implements RateWindow {
  /** level × windowMs */
  private scaled: bigint;
  private last: bigint | null = null;

  constructor(
    public limit: number,
    readonly windowMs: number,
  ) {
    this.scaled = BigInt(limit) * BigInt(windowMs);
  }

  private refill(now: number): void {
    const t = ms(now);
    const capacity = BigInt(this.limit) * BigInt(this.windowMs);
    if (this.last !== null && t > this.last) this.scaled += (t - this.last) * BigInt(this.limit);
    if (this.last === null || t > this.last) this.last = t;
    if (this.scaled > capacity) this.scaled = capacity;
  }

  available(now: number): number {
    this.refill(now);
    const w = BigInt(this.windowMs);
    // floor division that also floors negative levels
    const floor = this.scaled >= 0n ? this.scaled / w : -ceilDiv(-this.scaled, w);
    return Number(floor);
  }

  take(now: number, amount: number): void {
    this.refill(now);
    this.scaled -= BigInt(amount) * BigInt(this.windowMs);
  }

  give(now: number, amount: number): void {
    this.refill(now);
    this.scaled += BigInt(amount) * BigInt(this.windowMs);
    const capacity = BigInt(this.limit) * BigInt(this.windowMs);
    if (this.scaled > capacity) this.scaled = capacity;
  }

  waitNanos(now: number, amount: number): bigint | null {
    if (amount > this.limit) return null;
    this.refill(now);
    const deficit = BigInt(amount) * BigInt(this.windowMs) - this.scaled;
    return ceilDiv(deficit * NS_PER_MS, BigInt(this.limit));
  }

  resetNanos(now: number): bigint {
    this.refill(now);
    const deficit = BigInt(this.limit) * BigInt(this.windowMs) - this.scaled;
    return ceilDiv(deficit * NS_PER_MS, BigInt(this.limit));
  }

  clear(): void {
    this.scaled = BigInt(this.limit) * BigInt(this.windowMs);
    this.last = null;
  }
}

/** Counter that resets at multiples of the window length since the epoch (UTC minute, UTC day). */
export class FixedWindow implements RateWindow {
  private start = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(
    public limit: number,
    readonly windowMs: number,
  ) {}

  private roll(now: number): void {
    const start = Math.floor(now / this.windowMs) * this.windowMs;
    if (start > this.start) {
      this.start = start;
      this.used = 0;
    }
  }

  available(now: number): number {
    this.roll(now);
    return this.limit - this.used;
  }

  take(now: number, amount: number): void {
    this.roll(now);
    this.used += amount;
  }

  give(now: number, amount: number): void {
    this.roll(now);
    this.used = Math.max(0, this.used - amount);
  }

  private untilBoundary(now: number): bigint {
    const end = this.start + this.windowMs;
    return BigInt(Math.max(0, Math.ceil((end - now) * 1_000_000)));
  }

  waitNanos(now: number, amount: number): bigint | null {
    if (amount > this.limit) return null;
    this.roll(now);
    return this.used + amount <= this.limit ? 0n : this.untilBoundary(now);
  }

  resetNanos(now: number): bigint {
    this.roll(now);
    return this.used === 0 ? 0n : this.untilBoundary(now);
  }

  clear(): void {
    this.start = Number.NEGATIVE_INFINITY;
    this.used = 0;
  }
}

export function createWindow(algorithm: WindowAlgorithm, limit: number, windowMs: number): RateWindow {
  return algorithm === 'fixed' ? new FixedWindow(limit, windowMs) : new BucketWindow(limit, windowMs);
}

export type LimitName = 'RPM' | 'RPD' | 'TPM' | 'TPD';

const LABELS: Record<LimitName, string> = {
  RPM: 'requests per minute (RPM)',
  RPD: 'requests per day (RPD)',
  TPM: 'tokens per minute (TPM)',
  TPD: 'tokens per day (TPD)',
};

/** The four windows of one model. */
export class ModelLimiter {
  readonly windows: Record<LimitName, RateWindow>;

  constructor(algorithm: WindowAlgorithm, limits: RateLimits) {
    this.windows = {
      RPM: createWindow(algorithm, limits.rpm, MINUTE_MS),
      RPD: createWindow(algorithm, limits.rpd, DAY_MS),
      TPM: createWindow(algorithm, limits.tpm, MINUTE_MS),
      TPD: createWindow(algorithm, limits.tpd, DAY_MS),
    };
  }

  limits(): RateLimits {
    return {
      rpm: this.windows.RPM.limit,
      rpd: this.windows.RPD.limit,
      tpm: this.windows.TPM.limit,
      tpd: this.windows.TPD.limit,
    };
  }

  setLimits(limits: Partial<RateLimits>): void {
    if (limits.rpm !== undefined) this.windows.RPM.limit = limits.rpm;
    if (limits.rpd !== undefined) this.windows.RPD.limit = limits.rpd;
    if (limits.tpm !== undefined) this.windows.TPM.limit = limits.tpm;
    if (limits.tpd !== undefined) this.windows.TPD.limit = limits.tpd;
  }

  clear(): void {
    for (const window of Object.values(this.windows)) window.clear();
  }
}

export interface RateLimitSnapshot {
  model: string;
  limits: RateLimits;
  remaining: { rpm: number; rpd: number; tpm: number; tpd: number };
  reset: { rpm: string; rpd: string; tpm: string; tpd: string };
}

/** All models' limiters for the organization. */
export class OrgLimiter {
  private readonly models = new Map<string, ModelLimiter>();

  constructor(
    readonly orgId: string,
    private readonly algorithm: WindowAlgorithm,
    limits: Iterable<[string, RateLimits]>,
    public enforce = true,
  ) {
    for (const [model, modelLimits] of limits)
      this.models.set(model, new ModelLimiter(algorithm, modelLimits));
  }

  limiter(model: string): ModelLimiter | undefined {
    return this.models.get(model);
  }

  /**
   * Would a request for `tokens` TPM/TPD tokens be admitted now? Returns the GroqError to answer with
   * (413 when it can never fit the TPM/TPD limit, else 429 for the limit that needs the longest wait),
   * or null.
   */
  check(model: string, tokens: number, now: number): GroqError | null {
    const limiter = this.models.get(model);
    if (!limiter || !this.enforce) return null;
    const { windows } = limiter;
    for (const name of ['TPM', 'TPD'] as const) {
      if (tokens > windows[name].limit)
        return requestTooLarge(this.orgId, model, name, windows[name].limit, tokens);
    }
    let worst: { name: LimitName; wait: bigint; requested: number } | null = null;
    for (const [name, requested] of [
      ['RPM', 1],
      ['RPD', 1],
      ['TPM', tokens],
      ['TPD', tokens],
    ] as const) {
      const wait = windows[name].waitNanos(now, requested) ?? 0n;
      if (wait > 0n && (worst === null || wait > worst.wait)) worst = { name, wait, requested };
    }
    if (!worst) return null;
    const window = windows[worst.name];
    const used = Math.max(0, window.limit - window.available(now));
    return rateLimitReached(this.orgId, model, worst.name, window.limit, used, worst.requested, worst.wait);
  }

  /** Count an admitted request: 1 against RPM/RPD, `tokens` against TPM/TPD. */
  admit(model: string, tokens: number, now: number): void {
    const limiter = this.models.get(model);
    if (!limiter) return;
    limiter.windows.RPM.take(now, 1);
    limiter.windows.RPD.take(now, 1);
    limiter.windows.TPM.take(now, tokens);
    limiter.windows.TPD.take(now, tokens);
  }

  /** Correct an admitted request's token count from `reserved` to `actual`. */
  settle(model: string, reserved: number, actual: number, now: number): void {
    const limiter = this.models.get(model);
    if (!limiter || reserved === actual) return;
    for (const name of ['TPM', 'TPD'] as const) {
      if (actual < reserved) limiter.windows[name].give(now, reserved - actual);
      else limiter.windows[name].take(now, actual - reserved);
    }
  }

  /** The six x-ratelimit-* headers: requests = the per-day window, tokens = the per-minute window. */
  headers(model: string, now: number): Record<string, string> {
    const limiter = this.models.get(model);
    if (!limiter) return {};
    const { RPD, TPM } = limiter.windows;
    return {
      'x-ratelimit-limit-requests': String(RPD.limit),
      'x-ratelimit-remaining-requests': String(Math.max(0, RPD.available(now))),
      'x-ratelimit-reset-requests': formatResetDuration(RPD.resetNanos(now)),
      'x-ratelimit-limit-tokens': String(TPM.limit),
      'x-ratelimit-remaining-tokens': String(Math.max(0, TPM.available(now))),
      'x-ratelimit-reset-tokens': formatResetDuration(TPM.resetNanos(now)),
    };
  }

  snapshot(now: number): RateLimitSnapshot[] {
    return [...this.models.entries()].map(([model, limiter]) => {
      const w = limiter.windows;
      return {
        model,
        limits: limiter.limits(),
        remaining: {
          rpm: w.RPM.available(now),
          rpd: w.RPD.available(now),
          tpm: w.TPM.available(now),
          tpd: w.TPD.available(now),
        },
        reset: {
          rpm: formatResetDuration(w.RPM.resetNanos(now)),
          rpd: formatResetDuration(w.RPD.resetNanos(now)),
          tpm: formatResetDuration(w.TPM.resetNanos(now)),
          tpd: formatResetDuration(w.TPD.resetNanos(now)),
        },
      };
    });
  }

  setLimits(model: string, limits: Partial<RateLimits>): boolean {
    const limiter = this.models.get(model);
    if (!limiter) return false;
    limiter.setLimits(limits);
    return true;
  }

  clear(): void {
    for (const limiter of this.models.values()) limiter.clear();
  }
}

const UPGRADE = 'Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing';

export function rateLimitReached(
  orgId: string,
  model: string,
  name: LimitName,
  limit: number,
  used: number,
  requested: number,
  waitNanos: bigint,
): GroqError {
  const message =
    `Rate limit reached for model \`${model}\` in organization \`${orgId}\` service tier \`on_demand\` on ` +
    `${LABELS[name]}: Limit ${limit}, Used ${used}, Requested ${requested}. ` +
    `Please try again in ${formatGoDuration(waitNanos)}. ${UPGRADE}`;
  return new GroqError(
    429,
    message,
    name === 'RPM' || name === 'RPD' ? 'requests' : 'tokens',
    'rate_limit_exceeded',
    undefined,
    { 'retry-after': String(retryAfterSeconds(waitNanos)) },
  );
}

export function requestTooLarge(
  orgId: string,
  model: string,
  name: 'TPM' | 'TPD',
  limit: number,
  requested: number,
): GroqError {
  const message =
    `Request too large for model \`${model}\` in organization \`${orgId}\` service tier \`on_demand\` on ` +
    `${LABELS[name]}: Limit ${limit}, Requested ${requested}, please reduce your message size and try again. ${UPGRADE}`;
  return new GroqError(413, message, 'tokens', 'rate_limit_exceeded');
}
