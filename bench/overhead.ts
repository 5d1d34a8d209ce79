/**
 * `npm run bench:overhead`: what governing a completion costs. Starts the embedded stack in this
 * process (like `groq-governor up`: Temporal dev server, PGlite ledger, emulator, worker, gateway) in a
 * temporary data folder on free ports, issues a member key, and measures with the official `groq-sdk`
 * (maxRetries 0) the same requests sent (a) straight to the emulator and (b) through the gateway, at
 * each concurrency level, then a sustained governed run. Prints plain-text tables; stops the stack and
 * deletes the temporary folder by itself.
 *
 *   npm run bench:overhead -- [--quick] [--levels 1,16,64] [--latency-ms 20] [--duration 60]
 *                             [--requests 200,800,2000] [--sustained-concurrency 64]
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Groq from 'groq-sdk';
import type { Logger } from '../activities/alerts';
import type { SqlQueryable } from '../ledger';
import { issueKey } from '../client/services/gateway-keys';
import { startStack, type RunningStack } from '../client/services/stack';
import { benchConfig, freePort, freePortPair, table } from './support';

const TEAM = 'chatbot';
const MODEL = 'llama-3.1-8b-instant';
const WARMUP = 20;

interface Options {
  levels: number[];
  requests: number[];
  latencyMs: number;
  durationS: number;
  sustainedConcurrency: number;
  quick: boolean;
  /** time every ledger method and SQL statement and print where the time went */
  profile: boolean;
}

function parseList(text: string, name: string): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((value) => !Number.isSafeInteger(value) || value <= 0))
    throw new Error(
      `--${name} takes positive whole numbers separated by commas, got ${JSON.stringify(text)}`,
    );
  return values;
}

function parseNumber(text: string | undefined, name: string, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number >= ${min}`);
  return value;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      levels: { type: 'string' },
      requests: { type: 'string' },
      'latency-ms': { type: 'string' },
      duration: { type: 'string' },
      'sustained-concurrency': { type: 'string' },
      profile: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const levels = values.levels ? parseList(values.levels, 'levels') : [1, 16, 64];
  // requests per level: given, or by level (200 at 1, 800 at 16, 2000 at 64; a tenth with --quick)
  const perLevel = (level: number) => {
    const full = level <= 1 ? 200 : level <= 16 ? 800 : Math.max(2000, level * 30);
    return quick ? Math.max(level * 2, Math.ceil(full / 10)) : full;
  };
  let requests = levels.map(perLevel);
  if (values.requests) {
    const given = parseList(values.requests, 'requests');
    requests = levels.map((level, index) => given[index] ?? given[given.length - 1] ?? perLevel(level));
  }
  return {
    levels,
    requests,
    latencyMs: parseNumber(values['latency-ms'], 'latency-ms', 20, 0),
    durationS: parseNumber(values.duration, 'duration', quick ? 10 : 60, 1),
    sustainedConcurrency: parseNumber(values['sustained-concurrency'], 'sustained-concurrency', 64, 1),
    quick,
    profile: values.profile === true,
  };
}

interface RunResult {
  latencies: number[];
  errors: number;
  errorSamples: string[];
  elapsedMs: number;
}

/**
 * `concurrency` loops send requests back to back until `count` requests were started or `deadline`
 * (performance.now() ms) has passed, whichever is given.
 */
async function run(
  groq: Groq,
  concurrency: number,
  limit: { count: number } | { deadline: number },
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
        await groq.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'Say hello in five words.' }],
          max_completion_tokens: 16,
        });
        latencies.push(performance.now() - t0);
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

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  rps: number;
  errors: number;
}

function summarize(result: RunResult): Summary {
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

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** RSS of this process's descendants (the Temporal dev server), from /proc; 0 where there is no /proc. */
function childrenRss(pid = process.pid): number {
  let total = 0;
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(/\s+/).map(Number) : []) {
        const status = readFileSync(`/proc/${child}/status`, 'utf8');
        const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
        total += kb * 1024 + childrenRss(child);
      }
    }
  } catch {
    // a child that just exited, or no /proc
  }
  return total;
}

/** CPU seconds (user + system) used so far by the child processes of `pid` and theirs (100 ticks/s). */
function childrenCpuSeconds(pid = process.pid): number {
  let total = 0;
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(/\s+/).map(Number) : []) {
        const stat = readFileSync(`/proc/${child}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        total += (Number(fields[11]) + Number(fields[12])) / 100 + childrenCpuSeconds(child);
      }
    }
  } catch {
    // a child that just exited, or no /proc
  }
  return total;
}

/** Per-name call counts and total time, for --profile. */
class Profile {
  private readonly entries = new Map<string, { calls: number; totalMs: number; maxMs: number }>();

  /** first start and last end of a wrapped call since the last mark */
  window: { first: number; last: number } = { first: Number.NaN, last: Number.NaN };

  mark(): void {
    this.window = { first: Number.NaN, last: Number.NaN };
  }

  wrap<T extends object>(target: T, names: string[], prefix: string): void {
    for (const name of names) {
      const original = (target as Record<string, unknown>)[name];
      if (typeof original !== 'function') continue;
      const label = prefix.endsWith('.') ? `${prefix}${name}` : prefix;
      (target as Record<string, unknown>)[name] = (...args: unknown[]) => {
        const t0 = performance.now();
        if (Number.isNaN(this.window.first)) this.window.first = t0;
        const done = () => {
          this.window.last = performance.now();
          this.add(label, this.window.last - t0);
        };
        const result = (original as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) return result.finally(done);
        done();
        return result;
      };
    }
  }

  add(label: string, elapsed: number): void {
    const entry = this.entries.get(label) ?? { calls: 0, totalMs: 0, maxMs: 0 };
    entry.calls++;
    entry.totalMs += elapsed;
    entry.maxMs = Math.max(entry.maxMs, elapsed);
    this.entries.set(label, entry);
  }

  reset(): void {
    this.entries.clear();
  }

  report(requests: number): string {
    const rows = [...this.entries.entries()]
      .sort((a, b) => b[1].totalMs - a[1].totalMs)
      .map(([label, e]) => [
        label,
        String(e.calls),
        (e.calls / Math.max(1, requests)).toFixed(2),
        (e.totalMs / e.calls).toFixed(2),
        e.maxMs.toFixed(1),
        (e.totalMs / Math.max(1, requests)).toFixed(2),
      ]);
    return table(['call', 'calls', 'per request', 'mean ms', 'max ms', 'ms per request'], rows);
  }
}

const quietLogger: Logger = { info: () => undefined, warn: () => undefined };

async function main(): Promise<number> {
  const opts = options(process.argv.slice(2));
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const dataDir = mkdtempSync(join(tmpdir(), 'governor-bench-'));
  let stack: RunningStack | undefined;
  let peakRss = process.memoryUsage().rss;
  let peakChildRss = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (++samples % 10 === 0) peakChildRss = Math.max(peakChildRss, childrenRss());
  }, 100);
  sampler.unref();
  let stopping = false;
  const cleanup = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(sampler);
    await stack?.stop().catch((error: unknown) => out(`stop: ${String(error)}`));
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(`${dataDir}.lock`, { force: true });
  };
  const onSignal = () => {
    out('interrupted: stopping the stack');
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const load = loadavg()
      .map((value) => value.toFixed(2))
      .join(' ');
    out(
      `Machine: ${cpus().length} cpus (${cpus()[0]?.model ?? 'unknown'}), ${mb(totalmem())} memory, ` +
        `${mb(freemem())} free, load average ${load}; Node ${process.version}`,
    );
    out(
      `Run: levels ${opts.levels.join(',')} x requests ${opts.requests.join(',')}, emulator latency ` +
        `${opts.latencyMs} ms fixed, sustained ${opts.durationS} s at concurrency ${opts.sustainedConcurrency}` +
        `${opts.quick ? ' (quick)' : ''}`,
    );
    const config = benchConfig(dataDir);
    const temporalPort = await freePortPair();
    const startedAt = performance.now();
    stack = await startStack({
      config,
      dataDir,
      temporalPort,
      temporalUiPort: temporalPort + 1000,
      emulatorPort: await freePort(),
      gatewayPort: await freePort(),
      log: () => undefined,
      logger: quietLogger,
    });
    const emulator = stack.upstream.emulator;
    if (!emulator)
      throw new Error('the benchmark needs the emulator: unset GROQ_API_KEY and the key variables');
    emulator.setLatency({ latencyMs: opts.latencyMs, perTokenMs: 0 });
    const profile = opts.profile ? new Profile() : undefined;
    if (profile) {
      const ledger = stack.ledger as unknown as Record<string, unknown>;
      const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(ledger)).filter(
        (name) => name !== 'constructor' && name !== 'driver' && typeof ledger[name] === 'function',
      );
      profile.wrap(stack.ledger, methods, 'ledger.');
      // every statement, inside transactions too (BEGIN/COMMIT not counted)
      const sql = stack.ledger.sql as unknown as Record<string, unknown>;
      const transaction = stack.ledger.sql.transaction.bind(stack.ledger.sql);
      sql.transaction = (fn: (tx: SqlQueryable) => Promise<unknown>, txOptions?: unknown) =>
        transaction((tx) => {
          profile.wrap(tx, ['query'], 'sql statement (in a transaction)');
          return fn(tx);
        }, txOptions as undefined);
      profile.wrap(stack.ledger.sql, ['query'], 'sql statement (alone)');
      profile.wrap(stack.ledger.sql, ['transaction'], 'sql transaction');
    }
    emulator.enforceRateLimits(false);
    const startupRss = process.memoryUsage().rss;
    // start-up helpers (PGlite's initdb and the workflow bundler run in short-lived child processes)
    // are reported apart from the dev server, the only child process that stays
    const startupChildPeak = Math.max(peakChildRss, childrenRss());
    peakChildRss = 0;
    out(
      `Stack up in ${((performance.now() - startedAt) / 1000).toFixed(1)} s (${stack.ledgerDescription}); ` +
        `RSS after start-up ${mb(startupRss)}`,
    );

    const upstreamKey = config.teams.get(TEAM)!.upstreamKey;
    const upstreamSecret = emulator.addedKeys[upstreamKey];
    if (!upstreamSecret) throw new Error(`no emulator key for ${upstreamKey}`);
    const issued = await issueKey(stack.ledger, 'operator', { team: TEAM, role: 'member' }, config);
    const direct = new Groq({
      baseURL: emulator.url,
      apiKey: upstreamSecret,
      maxRetries: 0,
      timeout: 120_000,
    });
    const governed = new Groq({
      baseURL: stack.gateway.url,
      apiKey: issued.key,
      maxRetries: 0,
      timeout: 120_000,
    });

    // warm up both paths (JIT, connections, first workflow tasks); not counted
    await run(direct, 4, { count: WARMUP });
    await run(governed, 4, { count: WARMUP });
    if (profile) {
      profile.reset();
      const phases = { before: 0, ledger: 0, after: 0, total: 0 };
      const cpu0 = process.cpuUsage();
      const n = 50;
      for (let i = 0; i < n; i++) {
        profile.mark();
        const t0 = performance.now();
        await run(governed, 1, { count: 1 });
        const t1 = performance.now();
        phases.before += profile.window.first - t0;
        phases.ledger += profile.window.last - profile.window.first;
        phases.after += t1 - profile.window.last;
        phases.total += t1 - t0;
      }
      out(
        `Profile: ${n} governed requests at concurrency 1, mean ${ms(phases.total / n)} ms: ` +
          `${ms(phases.before / n)} until the first ledger call (auth is cached), ` +
          `${ms(phases.ledger / n)} from the first to the last ledger call, ${ms(phases.after / n)} after it`,
      );
      const cpu = process.cpuUsage(cpu0);
      out(`CPU of this process per governed request: ${ms((cpu.user + cpu.system) / 1000 / n)} ms`);
      out(profile.report(n));
      const dcpu0 = process.cpuUsage();
      await run(direct, 1, { count: n });
      const dcpu = process.cpuUsage(dcpu0);
      out(`CPU of this process per direct request: ${ms((dcpu.user + dcpu.system) / 1000 / n)} ms`);
      profile.reset();
    }

    const rows: string[][] = [];
    const added: string[][] = [];
    const problems: string[] = [];
    for (const [index, level] of opts.levels.entries()) {
      const count = opts.requests[index]!;
      const d = summarize(await run(direct, level, { count }));
      const gResult = await run(governed, level, { count });
      const g = summarize(gResult);
      problems.push(...gResult.errorSamples.map((sample) => `governed c=${level}: ${sample}`));
      for (const [path, s] of [
        ['direct', d],
        ['governed', g],
      ] as const) {
        rows.push([
          path,
          String(level),
          String(s.n),
          ms(s.p50),
          ms(s.p95),
          ms(s.p99),
          s.rps.toFixed(1),
          String(s.errors),
        ]);
      }
      added.push([String(level), ms(g.p50 - d.p50), ms(g.p95 - d.p95), ms(g.p99 - d.p99)]);
      out(`  level ${level}: done (direct ${d.rps.toFixed(1)} req/s, governed ${g.rps.toFixed(1)} req/s)`);
    }

    out(`  sustained: ${opts.durationS} s at concurrency ${opts.sustainedConcurrency}...`);
    const sustainedCpu0 = process.cpuUsage();
    const sustainedChildCpu0 = childrenCpuSeconds();
    const sustainedLoad0 = loadavg()[0]!;
    const sustained = await run(governed, opts.sustainedConcurrency, {
      deadline: performance.now() + opts.durationS * 1000,
    });
    const sustainedCpu = process.cpuUsage(sustainedCpu0);
    const sustainedChildCpu = childrenCpuSeconds() - sustainedChildCpu0;
    const sustainedLoad1 = loadavg()[0]!;
    const s = summarize(sustained);
    problems.push(...sustained.errorSamples.map((sample) => `sustained: ${sample}`));
    peakRss = Math.max(peakRss, process.memoryUsage().rss);

    out();
    out(`Latency (ms) and throughput, emulator latency ${opts.latencyMs} ms`);
    out(table(['path', 'concurrency', 'requests', 'p50', 'p95', 'p99', 'req/s', 'errors'], rows));
    out();
    out('Added latency, governed minus direct (ms)');
    out(table(['concurrency', 'p50', 'p95', 'p99'], added));
    out();
    out(`Sustained governed run`);
    out(
      table(
        ['concurrency', 'duration s', 'completed', 'req/s', 'p50', 'p95', 'p99', 'errors'],
        [
          [
            String(opts.sustainedConcurrency),
            (sustained.elapsedMs / 1000).toFixed(1),
            String(sustained.latencies.length),
            s.rps.toFixed(1),
            ms(s.p50),
            ms(s.p95),
            ms(s.p99),
            String(s.errors),
          ],
        ],
      ),
    );
    const cpuPerRequest =
      (sustainedCpu.user + sustainedCpu.system) / 1000 / Math.max(1, sustained.latencies.length);
    out(
      `CPU of this process per governed request in the sustained run: ${ms(cpuPerRequest)} ms ` +
        `(the process holds the gateway, the worker, the ledger client or PGlite, the emulator and the ` +
        `benchmark client); ` +
        `load average 1-min ${sustainedLoad0.toFixed(2)} at its start, ${sustainedLoad1.toFixed(2)} at its end`,
    );
    out(
      `CPU of the Temporal dev server per governed request in the sustained run: ` +
        `${ms((sustainedChildCpu * 1000) / Math.max(1, sustained.latencies.length))} ms`,
    );
    out();
    out(
      `Peak RSS of this process (stack + benchmark, sampled every 100 ms): ${mb(peakRss)}; ` +
        `Temporal dev server (child process, sampled every 1 s after start-up): ${peakChildRss ? mb(peakChildRss) : 'n/a'}; ` +
        `child processes during start-up (dev server, PGlite initdb, workflow bundling): ${mb(startupChildPeak)}`,
    );
    out(
      `Load average at the end: ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
    );
    for (const problem of problems) out(`error sample: ${problem}`);
    return 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench:overhead failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
