/**
 * How far V8 lets the heap grow past its live data before a full collection, for the processes that run
 * a worker or a gateway. Under sustained load most of a request's objects live about as long as the
 * request (a second at concurrency 64), survive two young collections and are promoted; they die in the
 * old generation, which V8 lets grow to up to 4 times its live data on a machine with this much memory
 * (live 50-65 MB, heap 190-250 MB before each full collection in `bench:overhead`). A factor of 2 keeps the
 * heap near twice its live data at the cost of more frequent full collections (10-15 ms each, every
 * few seconds under that load): docs/benchmarks.md, round 10.
 *
 * `GOVERNOR_HEAP_GROWING_PERCENT` sets another percentage (100 means a factor of 2; 0 leaves V8's own
 * policy), and `node --heap-growing-percent=N` on the command line takes precedence over both.
 */
import { setFlagsFromString } from 'node:v8';

export const DEFAULT_HEAP_GROWING_PERCENT = 100;
const FLAG = '--heap-growing-percent';

/** The percentage the environment asks for, or why it cannot be used. */
export function heapGrowingPercent(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.GOVERNOR_HEAP_GROWING_PERCENT;
  if (text === undefined || text.trim() === '') return DEFAULT_HEAP_GROWING_PERCENT;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0 || value > 1000)
    throw new RangeError(
      `GOVERNOR_HEAP_GROWING_PERCENT must be a whole number from 0 (V8's own policy) to 1000, got ${JSON.stringify(text)}`,
    );
  return value;
}

/**
 * Sets V8's heap growing percentage for this process (once is enough; later calls set the same). Returns
 * what is in force: the percentage set, `'command line'` when node was started with the flag, or 0.
 */
export function limitHeapGrowth(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): number | 'command line' {
  if (execArgv.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`))) return 'command line';
  const percent = heapGrowingPercent(env);
  if (percent > 0) setFlagsFromString(`${FLAG}=${percent}`);
  return percent;
}
