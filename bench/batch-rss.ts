/**
 * The worker's memory during `bench:batch`: sampled every 100 ms for the peaks (the worker, its egress:
 * the rest of its process tree), and every `--rss-every` seconds a line of `--rss-log FILE` (CSV:
 * seconds, lines done, worker MB, egress MB), appended as it is taken so a partial run keeps its log.
 * From the sample where `warmupLines` are done on, the peak is also kept apart (the flat-RSS check).
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface RssReading {
  worker: number;
  /** the worker with its egress (one process only: the same as worker) */
  tree: number;
}

const MB = 1024 * 1024;

export class RssSampler {
  peakWorker = 0;
  peakEgress = 0;
  /** worker RSS at the first sample with warmupLines done, and the peak from then on */
  atWarmup: number | undefined;
  peakAfterWarmup = 0;
  done = 0;
  #timer: NodeJS.Timeout | undefined;
  #logTimer: NodeJS.Timeout | undefined;
  #started = performance.now();

  constructor(
    private readonly read: () => RssReading,
    private readonly options: { warmupLines: number; log?: string; everyS: number },
  ) {}

  start(): void {
    this.#started = performance.now();
    this.#timer = setInterval(() => this.sample(), 100);
    this.#timer.unref();
    if (this.options.log) {
      writeFileSync(this.options.log, 't_s,lines_done,worker_rss_mb,egress_rss_mb\n');
      this.#logTimer = setInterval(() => this.logLine(), this.options.everyS * 1000);
      this.#logTimer.unref();
    }
  }

  sample(): RssReading {
    const now = this.read();
    this.peakWorker = Math.max(this.peakWorker, now.worker);
    this.peakEgress = Math.max(this.peakEgress, now.tree - now.worker);
    if (this.atWarmup === undefined && this.done >= this.options.warmupLines && this.done > 0)
      this.atWarmup = now.worker;
    if (this.atWarmup !== undefined) this.peakAfterWarmup = Math.max(this.peakAfterWarmup, now.worker);
    return now;
  }

  logLine(): void {
    const now = this.sample();
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1);
    appendFileSync(
      this.options.log!,
      `${seconds},${this.done},${(now.worker / MB).toFixed(1)},${((now.tree - now.worker) / MB).toFixed(1)}\n`,
    );
  }

  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    clearInterval(this.#logTimer);
    if (this.options.log) this.logLine();
  }
}
