/** Closed-loop load for `bench:overhead`: N loops sending back to back, and the percentiles of a run. */
import { performance } from 'node:perf_hooks';

export interface RunResult {
  latencies: number[];
  errors: number;
  errorSamples: string[];
  elapsedMs: number;
}

export type Limit = { count: number } | { deadline: number };

/** What a sender may resolve with: its latency as measured where the call was made (another process). */
export interface Timed {
  latencyMs: number;
}

/** The latency a sender reported, or the time its promise took. */
function latencyOf(value: unknown, t0: number): number {
  if (typeof value === 'object' && value !== null && 'latencyMs' in value) return (value as Timed).latencyMs;
  return performance.now() - t0;
}

/**
 * `concurrency` loops call `send` back to back until `count` calls were started or `deadline`
 * (performance.now() ms) has passed, whichever is given. A call that throws counts as an error.
 */
export async function run(
  send: () => Promise<unknown>,
  concurrency: number,
  limit: Limit,
): Promise<RunResult> {
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let started = 0;
  const more = () =>
    'count' in limit ? started < limit.count : performance.now() < limit.deadline && started < 10_000_000;
  const begin = performance.now();
  const loop = async () => {
    while (more()) {
      started++;
      const t0 = performance.now();
      try {
        latencies.push(latencyOf(await send(), t0));
      } catch (error) {
        errors++;
        if (errorSamples.length < 3)
          errorSamples.push(String((error as Error).message ?? error).slice(0, 160));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { latencies, errors, errorSamples, elapsedMs: performance.now() - begin };
}

/**
 * One call of each sender in turn, `rounds` times, one at a time: every path sees the same moments of a
 * shared, noisy machine, so their differences hold although the absolute figures drift. Each result's
 * elapsed time is the sum of its own calls (its rate is one over its mean latency). A sender that
 * resolves with a Timed value gives its own latency (measured in the process that made the call).
 */
export async function runInterleaved(
  sends: ReadonlyArray<() => Promise<unknown>>,
  rounds: number,
): Promise<RunResult[]> {
  const results: RunResult[] = sends.map(() => ({
    latencies: [],
    errors: 0,
    errorSamples: [],
    elapsedMs: 0,
  }));
  for (let round = 0; round < rounds; round++) {
    for (const [index, send] of sends.entries()) {
      const result = results[index]!;
      const t0 = performance.now();
      try {
        const latency = latencyOf(await send(), t0);
        result.latencies.push(latency);
        result.elapsedMs += latency;
      } catch (error) {
        result.errors++;
        if (result.errorSamples.length < 3)
          result.errorSamples.push(String((error as Error).message ?? error).slice(0, 160));
        result.elapsedMs += performance.now() - t0;
      }
    }
  }
  return results;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  rps: number;
  errors: number;
}

export function summarize(result: RunResult): Summary {
  const sorted = [...result.latencies].sort((a, b) => a - b);
  return {
    n: result.latencies.length + result.errors,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    rps: result.latencies.length / (result.elapsedMs / 1000),
    errors: result.errors,
  };
}

export const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
