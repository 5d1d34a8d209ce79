/**
 * `npm run bench:batch`: one realtime batch through the embedded stack (Temporal dev server, PGlite
 * ledger, emulator, worker and gateway in this process, like `groq-governor up`), submitted with the
 * official groq-sdk. Reports the wall time against the ceiling that the batch window, the emulator's
 * latency and the batch share of the rate limits set, the peak RSS of this process (worker + gateway +
 * emulator + PGlite: an upper bound of the worker's), and the events of every workflow run.
 * With `--worker-process` (needs DATABASE_URL) the worker is a `groq-governor worker` process of its
 * own, as in production, and its peak RSS (with and without its egress) is measured alone.
 *
 *   npm run bench:batch -- [--lines 10000] [--latency-ms 50] [--window 32] [--items-per-run 500] [--rpm N]
 *                          [--worker-process [--worker-node-options=--max-old-space-size=160]]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Groq, { toFile } from 'groq-sdk';
import { BATCH_SHARE_PERCENT } from '../activities/completion/capacity';
import { issueKey } from '../client/services/gateway-keys';
import { startStack, type RunningStack } from '../client/services/stack';
import type { Client } from '@temporalio/client';
import type { RunningEmulator } from '../emulator';
import type { LedgerStore } from '../ledger';
import { batchWorkflowId, progressQuery } from '../workflows/batch-job-messages';
import { countStatements } from './overhead-profile';
import { startSplitDeployment } from './split-deployment';
import { benchConfigWithYaml, freePort, table } from './support';

const TEAM = 'chatbot';
const MODEL = 'llama-3.1-8b-instant';

function flags() {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      lines: { type: 'string', default: '10000' },
      'latency-ms': { type: 'string', default: '50' },
      window: { type: 'string', default: '' },
      'items-per-run': { type: 'string', default: '' },
      rpm: { type: 'string', default: '10000000' },
      'worker-process': { type: 'boolean', default: false },
      'worker-node-options': { type: 'string', default: '' },
    },
    strict: true,
  });
  const number = (name: keyof typeof values) => {
    if (values[name] === '') return undefined;
    const value = Number(values[name]);
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} takes a whole number`);
    return value;
  };
  return {
    lines: number('lines') ?? 10000,
    latencyMs: number('latency-ms') ?? 50,
    /** unset: the workflow sizes it from the limits */
    window: number('window'),
    itemsPerRun: number('items-per-run'),
    rpm: number('rpm') ?? 10_000_000,
    workerProcess: values['worker-process'],
    workerNodeOptions: values['worker-node-options'],
  };
}

function batchBenchConfig(dataDir: string, opts: ReturnType<typeof flags>) {
  return benchConfigWithYaml(dataDir, (raw) => {
    for (const team of Object.values(raw.teams)) {
      team.rpm = opts.rpm;
      team.monthlyBudgetUsd = '100000';
    }
    raw.org.monthlyCapUsd = '1000000';
    raw.gateway = {
      ...raw.gateway,
      ...(opts.window !== undefined ? { batchWindow: opts.window } : {}),
      ...(opts.itemsPerRun !== undefined ? { batchItemsPerRun: opts.itemsPerRun } : {}),
    };
  });
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

async function main(): Promise<number> {
  const opts = flags();
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const dataDir = mkdtempSync(join(tmpdir(), 'governor-bench-batch-'));
  let stop: (() => Promise<void>) | undefined;
  let peakRss = process.memoryUsage().rss;
  let peakWorker = 0;
  let rssNow = () => ({ worker: process.memoryUsage().rss, tree: process.memoryUsage().rss });
  const sampler = setInterval(() => {
    const now = rssNow();
    peakRss = Math.max(peakRss, now.tree);
    peakWorker = Math.max(peakWorker, now.worker);
  }, 100);
  sampler.unref();
  try {
    out(
      `bench:batch: ${opts.lines} lines, emulator latency ${opts.latencyMs} ms, window ${opts.window ?? 'sized'}, ` +
        `${opts.itemsPerRun ?? 'sized'} items per run, team rpm ${opts.rpm}; ` +
        `${opts.workerProcess ? `worker process of its own${opts.workerNodeOptions ? ` (NODE_OPTIONS ${opts.workerNodeOptions})` : ''}` : 'one process'}, ` +
        `ledger ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}; ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}`,
    );
    const { config, yaml } = batchBenchConfig(dataDir, opts);
    let ledger: LedgerStore;
    let emulator: RunningEmulator | undefined;
    let client: Client;
    let gatewayUrl: string;
    if (opts.workerProcess) {
      const databaseUrl = process.env.DATABASE_URL;
      if (!databaseUrl)
        throw new Error('--worker-process needs DATABASE_URL (a worker process shares PostgreSQL)');
      const split = await startSplitDeployment({
        config,
        configYaml: yaml,
        dataDir,
        databaseUrl,
        ...(opts.workerNodeOptions ? { workerNodeOptions: opts.workerNodeOptions } : {}),
      });
      stop = () => split.stop();
      ({ ledger, emulator, client } = split);
      gatewayUrl = split.gateway.url;
      rssNow = () => split.rss();
      peakRss = 0;
    } else {
      const stack: RunningStack = await startStack({
        config,
        dataDir,
        temporalPort: await freePort(),
        temporalUiPort: await freePort(),
        emulatorPort: await freePort(),
        gatewayPort: await freePort(),
        log: () => undefined,
        logger: { info: () => undefined, warn: () => undefined },
      });
      stop = () => stack.stop();
      ({ ledger, client } = stack);
      emulator = stack.upstream.emulator;
      gatewayUrl = stack.gateway.url;
    }
    if (!emulator)
      throw new Error('the benchmark needs the emulator: unset GROQ_API_KEY and the key variables');
    emulator.setLatency({ latencyMs: opts.latencyMs, perTokenMs: 0 });
    const key = await issueKey(ledger, 'operator', { team: TEAM, role: 'member' }, config);
    const groq = new Groq({ baseURL: gatewayUrl, apiKey: key.key, maxRetries: 2 });

    const jsonl = Array.from({ length: opts.lines }, (_, n) =>
      JSON.stringify({
        custom_id: `bench-${n}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: {
          model: MODEL,
          messages: [{ role: 'user', content: `Benchmark line ${n}: say hello.` }],
          max_completion_tokens: 16,
        },
      }),
    ).join('\n');
    const file = await groq.files.create({
      file: await toFile(Buffer.from(jsonl), 'bench.jsonl'),
      purpose: 'batch',
    });
    const rssBefore = rssNow().tree;
    // statements of this process's ledger (the worker's, when it runs here), from the batch's start
    const statements = opts.workerProcess ? undefined : countStatements(ledger);
    const started = performance.now();
    const batch = await groq.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '12h',
      metadata: { mode: 'realtime' },
    });
    let current = batch;
    let lastPrint = 0;
    // the window the workflow runs with (the calls in flight at once), as its progress query tells
    let windowUsed = opts.window;
    while (!['completed', 'failed', 'cancelled', 'expired'].includes(current.status)) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      current = await groq.batches.retrieve(batch.id);
      if (current.status === 'in_progress') {
        const progress = await client.workflow
          .getHandle(batchWorkflowId(batch.id))
          .query(progressQuery)
          .catch(() => undefined);
        if (progress?.window !== undefined) windowUsed = progress.window;
      }
      if (performance.now() - lastPrint > 10_000) {
        lastPrint = performance.now();
        const counts = current.request_counts!;
        out(
          `  ${((lastPrint - started) / 1000).toFixed(0)} s: ${counts.completed + counts.failed}/${counts.total}`,
        );
      }
    }
    const wallS = (performance.now() - started) / 1000;
    const counts = current.request_counts!;
    const statementCount = statements?.count();
    statements?.restore();

    // events per run of the batch's workflow (every continue-as-new starts a new run)
    const runs: number[] = [];
    for await (const execution of client.workflow.list({
      query: `WorkflowId = '${batchWorkflowId(batch.id)}'`,
    })) {
      runs.push(execution.historyLength);
    }
    // ceiling: the window actually used (the calls in flight at once), each at least one emulator
    // latency, or the batch share of rpm, whichever is lower
    const window = windowUsed ?? 16;
    const byWindow = opts.latencyMs > 0 ? (window * 1000) / opts.latencyMs : Number.POSITIVE_INFINITY;
    const byRpm = (Math.floor((opts.rpm * BATCH_SHARE_PERCENT) / 100) || 1) / 60;
    const ceilingRate = Math.min(byWindow, byRpm);
    const ceilingS = opts.lines / ceilingRate;
    const rate = (counts.completed + counts.failed) / wallS;
    out();
    out(
      table(
        ['measure', 'target', 'measured'],
        [
          ['status', 'completed', `${current.status} (${counts.completed} ok, ${counts.failed} failed)`],
          [
            'wall time vs ceiling',
            '>= 90%',
            `${wallS.toFixed(1)} s vs ${ceilingS.toFixed(1)} s = ${((ceilingS / wallS) * 100).toFixed(1)}%`,
          ],
          [
            'items/s vs ceiling',
            '',
            `${rate.toFixed(1)}/s vs ${ceilingRate.toFixed(1)}/s (${byWindow <= byRpm ? `window ${window} / latency` : 'rpm'} binds)`,
          ],
          [
            'ledger statements per item',
            '<= 4',
            statementCount === undefined
              ? 'not counted (the worker runs in its own process)'
              : (statementCount / opts.lines).toFixed(2),
          ],
          [
            'history events per item',
            '<= 2',
            runs.length ? (runs.reduce((a, b) => a + b, 0) / opts.lines).toFixed(3) : 'visibility not ready',
          ],
          ...(opts.workerProcess
            ? [
                [
                  'worker peak RSS (the worker process)',
                  '<= 300 MB',
                  `${mb(peakWorker)} MB; with its egress ${mb(peakRss)} MB (${mb(rssBefore)} MB before the batch)`,
                ],
              ]
            : [
                [
                  `peak RSS (one process: worker+gateway+emulator+${process.env.DATABASE_URL ? 'pg client' : 'PGlite'})`,
                  '<= 300 MB',
                  `${mb(peakRss)} MB (${mb(rssBefore)} MB before the batch)`,
                ],
              ]),
          [
            'events per workflow run',
            'bounded',
            runs.length
              ? `max ${Math.max(...runs)}, mean ${(runs.reduce((a, b) => a + b, 0) / runs.length).toFixed(0)}, ${runs.length} runs`
              : 'visibility not ready',
          ],
        ],
      ),
    );
    return current.status === 'completed' ? 0 : 1;
  } finally {
    clearInterval(sampler);
    await stop?.().catch((error: unknown) => out(`stop: ${String(error)}`));
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
