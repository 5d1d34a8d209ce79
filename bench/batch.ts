/**
 * `npm run bench:batch`: one realtime batch submitted with the official groq-sdk (the file streamed from
 * disk, as `groq-governor batch submit` does), through the embedded stack in this process (Temporal dev
 * server, PGlite or the PostgreSQL of DATABASE_URL, emulator, worker, gateway), or with
 * `--worker-process` (needs DATABASE_URL) a `groq-governor worker` process of its own with its egress,
 * as in production. Prints a table (and `--json FILE` the figures): the wall time against the ceiling
 * that the window, the emulator's latency and the batch share of the team's RPM set; the worker's peak
 * RSS (one process: the whole process, an upper bound) and its egress's; the ledger statements and
 * history events per item. Limits: see batch-options.ts (developer-plan RPM unless `--raised-limits`).
 *
 * Statements per item count every statement the worker sends from the batch's creation to its end: with
 * `--worker-process` on the wire (the worker and its egress reach PostgreSQL through a counting relay,
 * pg-wire-counter.ts); in one process by wrapping the ledger's client (BEGIN and COMMIT counted), which
 * the gateway shares, so progress is read from the workflow's query, not through the gateway.
 *
 *   npm run bench:batch -- [--lines 10000] [--latency-ms 50] [--window 32] [--items-per-run 500]
 *        [--raised-limits | --rpm N] [--worker-process [--worker-node-options=--max-old-space-size=160]]
 *        [--json FILE] [--max-seconds S] [--rss-log FILE [--rss-every 5]] [--warmup-lines 50000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import Groq from 'groq-sdk';
import { BATCH_SHARE_PERCENT } from '../activities/completion/capacity';
import { fileOnDisk } from '../client/cli/commands/batch-files';
import { issueKey } from '../client/services/gateway-keys';
import { startStack } from '../client/services/stack';
import { DEFAULT_MAX_BATCH_FILE_BYTES } from '../domain/config/schema';
import type { RunningEmulator } from '../emulator';
import { compareLedgerWithBill } from './batch-bill';
import type { LedgerStore } from '../ledger';
import { batchWorkflowId, progressQuery, type BatchProgress } from '../workflows/batch-job-messages';
import { batchBenchOptions, writeBenchFile, type BatchBenchOptions } from './batch-options';
import { RssSampler, type RssReading } from './batch-rss';
import { writeJsonFigures } from './overhead-json';
import { countStatements } from './overhead-profile';
import { startWireCounter } from './pg-wire-counter';
import { startSplitDeployment } from './split-deployment';
import { benchConfigWithYaml, freePort, table } from './support';

const TEAM = 'chatbot';
const FINAL = new Set(['completed', 'failed', 'cancelled', 'expired']);

function batchBenchConfig(dataDir: string, opts: BatchBenchOptions, fileBytes: number) {
  return benchConfigWithYaml(dataDir, (raw) => {
    for (const team of Object.values(raw.teams)) {
      team.rpm = opts.rpm;
      team.monthlyBudgetUsd = '1000000';
    }
    raw.org.monthlyCapUsd = '10000000';
    raw.gateway = {
      ...raw.gateway,
      ...(opts.window !== undefined ? { batchWindow: opts.window } : {}),
      ...(opts.itemsPerRun !== undefined ? { batchItemsPerRun: opts.itemsPerRun } : {}),
      maxBatchFileBytes: Math.max(DEFAULT_MAX_BATCH_FILE_BYTES, fileBytes),
    };
  });
}

const mb = (bytes: number) => bytes / 1024 / 1024;

interface Deployment {
  ledger: LedgerStore;
  emulator: RunningEmulator | undefined;
  client: Client;
  gatewayUrl: string;
  rss: () => RssReading;
  /** statements the worker sent since the last reset */
  statements: () => number;
  resetStatements: () => void;
  stop: () => Promise<void>;
}

async function deploy(opts: BatchBenchOptions, dataDir: string, fileBytes: number): Promise<Deployment> {
  const { config, yaml } = batchBenchConfig(dataDir, opts, fileBytes);
  if (opts.workerProcess) {
    const databaseUrl = process.env.DATABASE_URL;
    if (!databaseUrl)
      throw new Error('--worker-process needs DATABASE_URL (a worker process shares PostgreSQL)');
    const target = new URL(databaseUrl);
    const counter = await startWireCounter({ host: target.hostname, port: Number(target.port || 5432) });
    const relayed = new URL(databaseUrl);
    relayed.hostname = '127.0.0.1';
    relayed.port = String(counter.port);
    try {
      const split = await startSplitDeployment({
        config,
        configYaml: yaml,
        dataDir,
        databaseUrl,
        workerDatabaseUrl: relayed.toString(),
        ...(opts.workerNodeOptions ? { workerNodeOptions: opts.workerNodeOptions } : {}),
      });
      return {
        ledger: split.ledger,
        emulator: split.emulator,
        client: split.client,
        gatewayUrl: split.gateway.url,
        rss: () => split.rss(),
        statements: () => counter.statements(),
        resetStatements: () => counter.reset(),
        stop: async () => {
          await split.stop();
          await counter.close();
        },
      };
    } catch (error) {
      await counter.close();
      throw error;
    }
  }
  const stack = await startStack({
    config,
    dataDir,
    temporalPort: await freePort(),
    temporalUiPort: await freePort(),
    emulatorPort: await freePort(),
    gatewayPort: await freePort(),
    log: () => undefined,
    logger: { info: () => undefined, warn: () => undefined },
  });
  let counter: ReturnType<typeof countStatements> | undefined;
  return {
    ledger: stack.ledger,
    emulator: stack.upstream.emulator,
    client: stack.client,
    gatewayUrl: stack.gateway.url,
    rss: () => ({ worker: process.memoryUsage().rss, tree: process.memoryUsage().rss }),
    statements: () => counter?.count() ?? 0,
    resetStatements: () => {
      counter?.restore();
      counter = countStatements(stack.ledger);
    },
    stop: async () => {
      counter?.restore();
      await stack.stop();
    },
  };
}

/** Progress from the workflow's query (no ledger statement); null while it cannot answer. */
async function progressOf(client: Client, batchId: string): Promise<BatchProgress | null> {
  try {
    return await client.workflow.getHandle(batchWorkflowId(batchId)).query(progressQuery);
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const opts = batchBenchOptions(process.argv.slice(2));
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const dataDir = mkdtempSync(join(tmpdir(), 'governor-bench-batch-'));
  const mode = process.env.DATABASE_URL ? 'postgres' : 'pglite';
  let deployment: Deployment | undefined;
  let sampler: RssSampler | undefined;
  try {
    out(
      `bench:batch: ${opts.lines} lines, emulator latency ${opts.latencyMs} ms, window ${opts.window ?? 'sized'}, ` +
        `${opts.itemsPerRun ?? 'sized'} items per run, ${opts.limits} limits (team rpm ${opts.rpm}); ` +
        `${opts.workerProcess ? `worker process of its own${opts.workerNodeOptions ? ` (NODE_OPTIONS ${opts.workerNodeOptions})` : ''}` : 'one process'}, ` +
        `ledger ${mode === 'postgres' ? 'PostgreSQL' : 'PGlite'}; ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}`,
    );
    const path = join(dataDir, 'bench.jsonl');
    const fileBytes = await writeBenchFile(path, opts.lines);
    deployment = await deploy(opts, dataDir, fileBytes);
    const { client, emulator } = deployment;
    if (!emulator)
      throw new Error('the benchmark needs the emulator: unset GROQ_API_KEY and the key variables');
    emulator.setLatency({ latencyMs: opts.latencyMs, perTokenMs: 0 });
    const config = batchBenchConfig(dataDir, opts, fileBytes).config;
    const key = await issueKey(deployment.ledger, 'operator', { team: TEAM, role: 'member' }, config);
    const groq = new Groq({ baseURL: deployment.gatewayUrl, apiKey: key.key, maxRetries: 2 });
    const uploadStarted = performance.now();
    const file = await groq.files.create({ file: await fileOnDisk(path), purpose: 'batch' });
    out(
      `  uploaded ${(fileBytes / 1e6).toFixed(1)} MB in ${((performance.now() - uploadStarted) / 1000).toFixed(1)} s`,
    );

    sampler = new RssSampler(deployment.rss, {
      warmupLines: Math.min(opts.warmupLines, opts.lines),
      everyS: opts.rssEvery,
      ...(opts.rssLog ? { log: opts.rssLog } : {}),
    });
    const rssBefore = deployment.rss();
    deployment.resetStatements();
    sampler.start();
    const started = performance.now();
    const batch = await groq.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '7d',
      metadata: { mode: 'realtime' },
    });
    let progress: BatchProgress | null = null;
    let windowUsed = opts.window;
    let lastPrint = performance.now();
    let cancelled = false;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      progress = (await progressOf(client, batch.id)) ?? progress;
      // the window the workflow runs with (the calls in flight at once), as its progress query tells
      if (progress?.window !== undefined) windowUsed = progress.window;
      if (progress) sampler.done = progress.completed + progress.failed;
      if (progress && FINAL.has(progress.status)) break;
      const elapsedS = (performance.now() - started) / 1000;
      if (opts.maxSeconds > 0 && elapsedS > opts.maxSeconds && !cancelled) {
        cancelled = true;
        out(`  --max-seconds ${opts.maxSeconds} reached: cancelling the batch`);
        await groq.batches.cancel(batch.id);
      }
      if (performance.now() - lastPrint > 10_000) {
        lastPrint = performance.now();
        const rss = deployment.rss();
        out(
          `  ${elapsedS.toFixed(0)} s: ${sampler.done}/${progress?.total ?? '?'} ` +
            `(worker ${mb(rss.worker).toFixed(0)} MB, egress ${mb(rss.tree - rss.worker).toFixed(0)} MB)`,
        );
      }
    }
    const wallS = (performance.now() - started) / 1000;
    const statements = deployment.statements();
    sampler.stop();
    const current = await groq.batches.retrieve(batch.id);
    const counts = current.request_counts!;
    // the items that ran (request_counts.failed also counts the items a cancel ended without running)
    const { rows: ran } = await deployment.ledger.sql.query(
      `SELECT count(*) AS n FROM batch_items WHERE batch_id = $1 AND state IN ('succeeded', 'failed')`,
      [batch.id],
    );
    const done = Number(ran[0]!.n);
    const bill = await compareLedgerWithBill(deployment.ledger.sql, emulator.billedCalls());

    // events of every run of the batch's workflow (every continue-as-new starts a new run)
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const runs: number[] = [];
    for await (const execution of client.workflow.list({
      query: `WorkflowId = '${batchWorkflowId(batch.id)}'`,
    })) {
      runs.push(execution.historyLength);
    }
    const events = runs.reduce((a, b) => a + b, 0);
    // ceiling: the window actually used (the calls in flight at once), each at least one emulator
    // latency, or the batch share of rpm, whichever is lower
    const window = windowUsed ?? 16;
    const byWindow = opts.latencyMs > 0 ? (window * 1000) / opts.latencyMs : Number.POSITIVE_INFINITY;
    const byRpm = (Math.floor((opts.rpm * BATCH_SHARE_PERCENT) / 100) || 1) / 60;
    const ceilingRate = Math.min(byWindow, byRpm);
    const ceilingS = done / ceilingRate;
    const rate = done / wallS;
    const perItem = (value: number) => (done > 0 ? value / done : Number.NaN);
    const figures = {
      lines: opts.lines,
      lines_done: done,
      status: current.status,
      wall_s: wallS,
      ceiling_s: ceilingS,
      ratio: ceilingS / wallS,
      items_per_s: rate,
      worker_peak_rss_mb: mb(sampler.peakWorker),
      egress_peak_rss_mb: opts.workerProcess ? mb(sampler.peakEgress) : null,
      worker_rss_before_mb: mb(rssBefore.worker),
      worker_rss_at_warmup_mb: sampler.atWarmup === undefined ? null : mb(sampler.atWarmup),
      worker_peak_rss_after_warmup_mb: sampler.atWarmup === undefined ? null : mb(sampler.peakAfterWarmup),
      warmup_lines: Math.min(opts.warmupLines, opts.lines),
      ledger_statements_per_item: perItem(statements),
      history_events_per_item: perItem(events),
      history_runs: runs.length,
      history_events_max_per_run: runs.length ? Math.max(...runs) : null,
      ledger_equals_bill: bill.mismatches === 0,
      billed_calls: bill.billedCalls,
      billed_nanos: bill.billedNanos.toString(),
      booked_nanos: bill.bookedNanos.toString(),
      mode,
      worker_process: opts.workerProcess,
      limits: opts.limits,
      rpm: opts.rpm,
      latency_ms: opts.latencyMs,
      window,
      items_per_run: opts.itemsPerRun ?? null,
      load_1m: loadavg()[0],
      cores: cpus().length,
      date: new Date().toISOString(),
    };
    const f1 = (value: number | null) => (value === null || Number.isNaN(value) ? '-' : value.toFixed(1));
    out();
    out(
      table(
        ['measure', 'target', 'measured'],
        [
          [
            'status',
            'completed',
            `${current.status} (${counts.completed} ok, ${counts.failed} failed of ${opts.lines})`,
          ],
          [
            'wall time vs ceiling',
            '>= 50%',
            `${f1(wallS)} s vs ${f1(ceilingS)} s = ${(figures.ratio * 100).toFixed(1)}%`,
          ],
          [
            'items/s vs ceiling',
            '',
            `${f1(rate)}/s vs ${f1(ceilingRate)}/s (${byWindow <= byRpm ? `window ${window} / latency` : 'rpm'} binds)`,
          ],
          [
            opts.workerProcess ? 'worker peak RSS (the worker process)' : 'peak RSS (the whole process)',
            '<= 300 MB',
            `${mb(sampler.peakWorker).toFixed(0)} MB (${mb(rssBefore.worker).toFixed(0)} MB before the batch)` +
              (sampler.atWarmup !== undefined
                ? `; ${mb(sampler.atWarmup).toFixed(0)} MB at ${figures.warmup_lines} lines, peak after ${mb(sampler.peakAfterWarmup).toFixed(0)} MB`
                : ''),
          ],
          ...(opts.workerProcess
            ? [['egress peak RSS', '<= 150 MB', `${mb(sampler.peakEgress).toFixed(0)} MB`]]
            : []),
          [
            `ledger statements per item (${opts.workerProcess ? 'worker + egress, on the wire' : 'the process'})`,
            '<= 4',
            `${f1(figures.ledger_statements_per_item)} (${statements} in all)`,
          ],
          [
            "ledger vs the emulator's bill, per call",
            'equal',
            bill.mismatches === 0
              ? `equal: ${bill.billedCalls} calls billed, ${bill.successRows} success rows, ${bill.bookedNanos} nanos`
              : `${bill.mismatches} mismatch(es): ${bill.problems.join('; ')}`,
          ],
          [
            'history events per item',
            '<= 2',
            runs.length
              ? `${figures.history_events_per_item.toFixed(2)} (${events} in ${runs.length} runs, max ${Math.max(...runs)} per run)`
              : 'visibility not ready',
          ],
        ],
      ),
    );
    if (opts.json) {
      writeJsonFigures(opts.json, figures);
      out(`Figures written to ${opts.json}`);
    }
    for (const line of bill.problems) out(`bill: ${line}`);
    return (current.status === 'completed' || cancelled) && bill.mismatches === 0 ? 0 : 1;
  } finally {
    sampler?.stop();
    await deployment?.stop().catch((error: unknown) => out(`stop: ${String(error)}`));
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(`${dataDir}.lock`, { force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
