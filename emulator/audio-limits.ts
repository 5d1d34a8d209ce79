/**
 * Groq's audio limits of speech-to-text models: audio seconds per hour (ASH) and per day (ASD), in the
 * same window kinds as the request and token limits (ratelimit.ts). A request counts its billed seconds.
 */
import { formatGoDuration, retryAfterSeconds } from './duration';
import { GroqError } from './errors';
import { createWindow, DAY_MS, type RateWindow, type WindowAlgorithm } from './ratelimit';

export const HOUR_MS = 3_600_000;

type AudioLimitName = 'ASH' | 'ASD';

const LABELS: Record<AudioLimitName, string> = {
  ASH: 'audio seconds per hour (ASH)',
  ASD: 'audio seconds per day (ASD)',
};

export class AudioLimiter {
  private readonly windows = new Map<string, Record<AudioLimitName, RateWindow>>();

  constructor(
    readonly orgId: string,
    algorithm: WindowAlgorithm,
    limits: Iterable<[string, { ash: number; asd: number }]>,
    public enforce = true,
  ) {
    for (const [model, { ash, asd }] of limits) {
      this.windows.set(model, {
        ASH: createWindow(algorithm, ash, HOUR_MS),
        ASD: createWindow(algorithm, asd, DAY_MS),
      });
    }
  }

  /** A 429 (or a 413 when the request can never fit) for `seconds` more audio now, or null. */
  check(model: string, seconds: number, now: number): GroqError | null {
    const windows = this.windows.get(model);
    if (!windows || !this.enforce) return null;
    let worst: { name: AudioLimitName; wait: bigint } | null = null;
    for (const name of ['ASH', 'ASD'] as const) {
      const wait = windows[name].waitNanos(now, seconds);
      if (wait === null) {
        return new GroqError(
          413,
          `Request too large for model \`${model}\` in organization \`${this.orgId}\` service tier \`on_demand\` on ${LABELS[name]}: Limit ${windows[name].limit}, Requested ${seconds}.`,
          'audio_seconds',
          'rate_limit_exceeded',
        );
      }
      if (wait > 0n && (worst === null || wait > worst.wait)) worst = { name, wait };
    }
    if (!worst) return null;
    const window = windows[worst.name];
    const used = Math.max(0, window.limit - window.available(now));
    return new GroqError(
      429,
      `Rate limit reached for model \`${model}\` in organization \`${this.orgId}\` service tier \`on_demand\` on ` +
        `${LABELS[worst.name]}: Limit ${window.limit}, Used ${used}, Requested ${seconds}. ` +
        `Please try again in ${formatGoDuration(worst.wait)}.`,
      'audio_seconds',
      'rate_limit_exceeded',
      undefined,
      { 'retry-after': String(retryAfterSeconds(worst.wait)) },
    );
  }

  admit(model: string, seconds: number, now: number): void {
    const windows = this.windows.get(model);
    if (!windows) return;
    windows.ASH.take(now, seconds);
    windows.ASD.take(now, seconds);
  }

  clear(): void {
    for (const windows of this.windows.values()) for (const window of Object.values(windows)) window.clear();
  }
}
