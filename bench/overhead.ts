/**
 * `npm run bench:overhead`: what governing a completion costs. Starts the embedded stack in this
 * process (like `groq-governor up`: Temporal dev server, ledger, worker, gateway) in a temporary data
 * folder on free ports, with the Groq emulator and the load generator in processes of their own (so this
 * process's CPU and RSS are the stack's), issues a member key, and measures at each concurrency level
 * (a) requests sent with the official `groq-sdk` (maxRetries 0) straight to the emulator, (b) the floor:
 * a workflow that returns its input, started like the gateway starts a governed completion (same
 * client, eager start, same worker), and (c) the same requests through the gateway; then sustained runs
 * of the floor, of `floorWait` (which first waits as long as the direct call took, as a governed
 * completion lives as long as its Groq call) and of governed requests, the time to first token of
 * streamed requests, the history sizes and the ledger's statements per governed request. Prints
 * plain-text tables (and `--json FILE` the figures); stops the stack and deletes the temporary folder
 * (and the `--postgres` database) by itself.
 *
 *   npm run bench:overhead -- [--quick] [--levels 1,16,64] [--latency-ms 20] [--duration 60]
 *                             [--requests 200,800,2000] [--sustained-concurrency 64]
 *                             [--stream-requests 200] [--profile] [--json FILE] [--postgres]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../activities/alerts';
import { FLOOR_PAUSE_MAX_MS } from '../activities/floor-pause';
import { issueKey } from '../client/services/gateway-keys';
import { startStack, type RunningStack } from '../client/services/stack';
import { emulatorConfigFor } from '../client/services/upstream';
import { devServerRunFigures, readDevServerCounters, type DevServerRunFigures } from './overhead-devserver';
import { floorSender, floorStartsEagerly, meanHistory, meanHistoryEvents, RecentIds } from './overhead-floor';
import { LoadProcess, startEmulatorProcess, type EmulatorProcess } from './overhead-harness';
import { writeFigures, type OverheadFigures } from './overhead-json';
import { mb, ms, run, runInterleaved, summarize, type RunResult, type Summary } from './overhead-load';
import { parseOverheadOptions } from './overhead-options';
import { createFreshDatabase, type FreshDatabase } from './overhead-postgres';
import { descendants, rssOf, startCpuWindow, type CpuWindow } from './overhead-procs';
import { countStatements, installProfile, Profile } from './overhead-profile';
import { measureTtftInterleaved } from './overhead-stream';
import { benchConfig, freePort, freePortPair, table } from './support';

const TEAM = 'chatbot';
const MODEL = 'llama-3.1-8b-instant';
const WARMUP = 20;
/** workflows of each kind, one at a time, whose histories are counted */
const HISTORY_SAMPLE = 5;
/** sequential governed requests of the statement-count pass */
const STATEMENT_PASS = 50;

const quietLogger: Logger = { info: () => undefined, warn: () => undefined };
const loadText = (values: number[]) => values.map((value) => value.toFixed(2)).join(' ');
const perRequest = (totalMs: number, completed: number) => totalMs / Math.max(1, completed);

async function main(): Promise<number> {
  const opts = parseOverheadOptions(process.argv.slice(2));
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const startedAtDate = new Date();
  const loadStart = loadavg();
  const dataDir = mkdtempSync(join(tmpdir(), 'governor-bench-'));
  let stack: RunningStack | undefined;
  let database: FreshDatabase | undefined;
  let emulatorProcess: EmulatorProcess | undefined;
  let load: LoadProcess | undefined;
  let peakRss = process.memoryUsage().rss;
  let peakDevServerRss = 0;
  /** all descendants together (dev server, start-up helpers), for the start-up figure */
  let peakChildrenRss = 0;
  let othersRss = 0;
  /** the emulator and the load generator: not the stack, reported beside it */
  let peakHarnessRss = 0;
  /** the stack's other processes (the ledger host in PGlite mode): their largest RSS after start-up */
  let peakOthersRss = 0;
  /** process + non-dev-server descendants, during the sustained governed run */
  let sustainedPeak: { on: boolean; bytes: number; memory?: NodeJS.MemoryUsage } = { on: false, bytes: 0 };
  let samples = 0;
  const sampler = setInterval(() => {
    const memory = process.memoryUsage();
    const rss = memory.rss;
    peakRss = Math.max(peakRss, rss);
    if (++samples % (sustainedPeak.on ? 5 : 10) === 0) {
      const tree = descendants();
      peakDevServerRss = Math.max(peakDevServerRss, rssOf(tree, 'devServer'));
      othersRss = rssOf(tree, 'stack');
      peakOthersRss = Math.max(peakOthersRss, othersRss);
      peakChildrenRss = Math.max(peakChildrenRss, rssOf(tree, 'devServer') + othersRss);
      peakHarnessRss = Math.max(peakHarnessRss, rssOf(tree, 'harness'));
    }
    // what this process's RSS held at the peak: V8's heap, and memory outside it that JavaScript holds
    if (sustainedPeak.on && rss + othersRss > sustainedPeak.bytes)
      sustainedPeak = { on: true, bytes: rss + othersRss, memory };
  }, 100);
  sampler.unref();
  let stopping = false;
  const cleanup = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(sampler);
    await load?.stop().catch((error: unknown) => out(`stopping the load generator: ${String(error)}`));
    await stack?.stop().catch((error: unknown) => out(`stop: ${String(error)}`));
    await emulatorProcess?.stop().catch((error: unknown) => out(`stopping the emulator: ${String(error)}`));
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(`${dataDir}.lock`, { force: true });
    await database?.drop().catch((error: unknown) => out(`dropping the database: ${String(error)}`));
  };
  const onSignal = () => {
    out('interrupted: stopping the stack');
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const machine = {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model ?? 'unknown',
      memory_mb: totalmem() / 1024 / 1024,
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
    };
    out(
      `Machine: ${machine.cpus} cpus (${machine.cpu_model}), ${mb(totalmem())} memory, ` +
        `${mb(freemem())} free, load average ${loadText(loadStart)}; Node ${process.version}`,
    );
    out(
      `Run: levels ${opts.levels.join(',')} x requests ${opts.requests.join(',')} per path, emulator latency ` +
        `${opts.latencyMs} ms fixed, sustained ${opts.durationS} s at concurrency ${opts.sustainedConcurrency} ` +
        `(floor, floor waiting as long as the direct call, then governed), ${opts.streamRequests} streamed requests per path${opts.quick ? ' (quick)' : ''}`,
    );
    if (opts.postgres) {
      database = await createFreshDatabase();
      process.env.DATABASE_URL = database.url;
      out(`PostgreSQL: created ${database.url} for this run (dropped at the end)`);
    }
    const config = benchConfig(dataDir);
    const temporalPort = await freePortPair();
    const temporalMetricsPort = await freePort();
    const startedAt = performance.now();
    // the emulator runs in a process of its own, mirroring the config; the stack calls it as Groq
    emulatorProcess = await startEmulatorProcess({
      config: emulatorConfigFor(config),
      keyNames: config.upstreamKeys.map((key) => key.name),
      latencyMs: opts.latencyMs,
    });
    stack = await startStack({
      config,
      dataDir,
      temporalPort,
      temporalUiPort: temporalPort + 1000,
      temporalMetricsPort,
      upstream: emulatorProcess.upstream(),
      gatewayPort: await freePort(),
      log: () => undefined,
      logger: quietLogger,
    });
    const mode = stack.ledger.driver;
    const profile = opts.profile ? new Profile() : undefined;
    if (profile) installProfile(stack.ledger, profile);
    const startupRss = process.memoryUsage().rss;
    // start-up helpers (PGlite's initdb and the workflow bundler run in short-lived child processes)
    // are reported apart from the processes that stay
    const startupTree = descendants();
    const startupChildPeak = Math.max(
      peakChildrenRss,
      rssOf(startupTree, 'devServer') + rssOf(startupTree, 'stack'),
    );
    peakDevServerRss = 0;
    peakOthersRss = rssOf(startupTree, 'stack');
    out(
      `Stack up in ${((performance.now() - startedAt) / 1000).toFixed(1)} s (${stack.ledgerDescription}); ` +
        `RSS after start-up ${mb(startupRss)}`,
    );

    const upstreamKey = config.teams.get(TEAM)!.upstreamKey;
    const upstreamSecret = emulatorProcess.secrets[upstreamKey];
    if (!upstreamSecret) throw new Error(`no emulator key for ${upstreamKey}`);
    const issued = await issueKey(stack.ledger, 'operator', { team: TEAM, role: 'member' }, config);
    // the official groq-sdk, straight to the emulator (direct) and through the gateway (governed), in
    // the load generator's process; the floor's client is the stack's own, in this process
    const loadGenerator = await LoadProcess.start({
      emulatorUrl: emulatorProcess.url,
      upstreamSecret,
      gatewayUrl: stack.gateway.url,
      gatewayKey: issued.key,
      model: MODEL,
    });
    load = loadGenerator;
    const client = stack.client;
    const floorIds = new RecentIds();
    const sendDirect = () => loadGenerator.one('direct');
    const sendFloor = floorSender(client, floorIds);
    const sendGoverned = () => loadGenerator.one('governed');
    const problems: string[] = [];
    let errors = 0;
    const note = (label: string, result: RunResult) => {
      errors += result.errors;
      problems.push(...result.errorSamples.map((sample) => `${label}: ${sample}`));
      return summarize(result);
    };

    // warm up every path (JIT, connections, first workflow tasks); not counted
    await run(sendDirect, 4, { count: WARMUP });
    await run(sendFloor, 4, { count: WARMUP });
    await run(sendGoverned, 4, { count: WARMUP });
    if (profile) {
      profile.reset();
      const phases = { before: 0, ledger: 0, after: 0, total: 0 };
      const cpu0 = process.cpuUsage();
      const n = 50;
      for (let i = 0; i < n; i++) {
        profile.mark();
        const t0 = performance.now();
        await run(sendGoverned, 1, { count: 1 });
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
      await run(sendDirect, 1, { count: n });
      const dcpu = process.cpuUsage(dcpu0);
      out(
        `CPU of this process per direct request (the client and the emulator run elsewhere): ` +
          `${ms((dcpu.user + dcpu.system) / 1000 / n)} ms`,
      );
      profile.reset();
    }

    const rows: string[][] = [];
    const added: string[][] = [];
    const levels: Array<{ level: number; direct: Summary; floor: Summary; governed: Summary }> = [];
    /** the load generator's and the emulator's CPU during the direct level runs */
    const directCpu = { ms: 0, completed: 0 };
    for (const [index, level] of opts.levels.entries()) {
      const count = opts.requests[index]!;
      let results: RunResult[];
      if (level === 1) {
        // one request of each path in turn, so the three see the same moments of a shared machine
        results = await runInterleaved([sendDirect, sendFloor, sendGoverned], count);
      } else {
        const directWindow = startCpuWindow();
        const directResult = await loadGenerator.run('direct', level, { count });
        directCpu.ms += directWindow().harnessMs;
        directCpu.completed += directResult.latencies.length;
        results = [
          directResult,
          await run(sendFloor, level, { count }),
          await loadGenerator.run('governed', level, { count }),
        ];
      }
      const d = note(`direct c=${level}`, results[0]!);
      const f = note(`floor c=${level}`, results[1]!);
      const g = note(`governed c=${level}`, results[2]!);
      levels.push({ level, direct: d, floor: f, governed: g });
      for (const [path, s] of [
        ['direct', d],
        ['floor', f],
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
      added.push([
        String(level),
        ms(g.p50 - d.p50),
        ms(g.p95 - d.p95),
        ms(g.p99 - d.p99),
        ms(f.p50),
        ms(f.p95),
        ms(f.p99),
        ms(g.p50 - d.p50 - f.p50),
      ]);
      out(
        `  level ${level}: done (direct ${d.rps.toFixed(1)} req/s, floor ${f.rps.toFixed(1)} workflows/s, ` +
          `governed ${g.rps.toFixed(1)} req/s)`,
      );
    }
    if (directCpu.completed === 0) {
      // only interleaved levels ran: the direct call's CPU from a pass of its own
      const directWindow = startCpuWindow();
      const directResult = await loadGenerator.run('direct', 1, { count: 100 });
      directCpu.ms += directWindow().harnessMs;
      directCpu.completed += directResult.latencies.length;
    }
    const directCpuPerRequest = perRequest(directCpu.ms, directCpu.completed);

    const sustainedRun = async (runIt: () => Promise<RunResult>) => {
      const counters = await readDevServerCounters(temporalMetricsPort);
      const window = startCpuWindow();
      const load0 = loadavg()[0]!;
      const result = await runIt();
      const cpu = window();
      const server = devServerRunFigures(
        counters,
        await readDevServerCounters(temporalMetricsPort),
        result.latencies.length,
      );
      return { result, cpu, load: [load0, loadavg()[0]!] as const, server };
    };
    out(`  sustained: ${opts.durationS} s at concurrency ${opts.sustainedConcurrency}, floor...`);
    const floorSustained = await sustainedRun(() =>
      run(sendFloor, opts.sustainedConcurrency, { deadline: performance.now() + opts.durationS * 1000 }),
    );
    // a floor workflow that waits as long as the direct call took (its p50 at concurrency 1), so that it
    // lives as long as a governed completion's Groq call
    const c1Direct = levels.find((entry) => entry.level === 1)?.direct.p50;
    const floorWaitMs = Math.min(
      FLOOR_PAUSE_MAX_MS,
      Math.round(c1Direct !== undefined && Number.isFinite(c1Direct) ? c1Direct : opts.latencyMs),
    );
    out(
      `  sustained: ${opts.durationS} s at concurrency ${opts.sustainedConcurrency}, floor waiting ${floorWaitMs} ms...`,
    );
    const floorWaitIds = new RecentIds();
    const floorWaitSustained = await sustainedRun(() =>
      run(floorSender(client, floorWaitIds, floorWaitMs), opts.sustainedConcurrency, {
        deadline: performance.now() + opts.durationS * 1000,
      }),
    );
    out(`  sustained: ${opts.durationS} s at concurrency ${opts.sustainedConcurrency}, governed...`);
    othersRss = rssOf(descendants(), 'stack');
    const othersAtSustainedStart = othersRss;
    sustainedPeak = { on: true, bytes: process.memoryUsage().rss + othersRss };
    const governedSustained = await sustainedRun(() =>
      loadGenerator.run('governed', opts.sustainedConcurrency, { durationMs: opts.durationS * 1000 }),
    );
    sustainedPeak.on = false;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const floorSummary = note('sustained floor', floorSustained.result);
    const governedSummary = note('sustained governed', governedSustained.result);
    const floorDone = floorSustained.result.latencies.length;
    const floorWaitSummary = note('sustained floor waiting', floorWaitSustained.result);
    const floorWaitDone = floorWaitSustained.result.latencies.length;
    const governedDone = governedSustained.result.latencies.length;

    out(`  streams: ${opts.streamRequests} streamed requests per path at concurrency 1...`);
    // its floor workflows are kept apart from the sustained run's, whose histories are read below
    const streamFloor = floorSender(client, new RecentIds());
    const directStream = () => loadGenerator.one('directStream');
    const governedStream = () => loadGenerator.one('governedStream');
    await measureTtftInterleaved(directStream, governedStream, streamFloor, 3);
    const streams = await measureTtftInterleaved(
      directStream,
      governedStream,
      streamFloor,
      opts.streamRequests,
    );
    const { direct: ttftDirect, governed: ttftGoverned, floor: ttftFloor } = streams;
    for (const [label, t] of [
      ['stream direct', ttftDirect],
      ['stream governed', ttftGoverned],
      ['floor beside the streams', ttftFloor],
    ] as const) {
      errors += t.errors;
      problems.push(...t.errorSamples.map((sample) => `${label}: ${sample}`));
    }

    // histories: the last workflows of the sustained runs (under load), then 5 of each at concurrency 1
    const loadedHistoryGoverned = await meanHistoryEvents(client, loadGenerator.governedIds);
    const loadedHistoryFloor = await meanHistoryEvents(client, floorIds.list());
    note('history floor', await run(sendFloor, 1, { count: HISTORY_SAMPLE }));
    note('history governed', await run(sendGoverned, 1, { count: HISTORY_SAMPLE }));
    const { events: historyGoverned, bytes: historyBytesGoverned } = await meanHistory(
      client,
      loadGenerator.governedIds,
    );
    const { events: historyFloor, bytes: historyBytesFloor } = await meanHistory(client, floorIds.list());
    const floorEager = await floorStartsEagerly(client);

    // last, so the wrapping never touches the timed runs; undone afterwards
    const counter = countStatements(stack.ledger);
    let statementPass: RunResult;
    try {
      statementPass = await run(sendGoverned, 1, { count: STATEMENT_PASS });
    } finally {
      counter.restore();
    }
    note('statement pass', statementPass);
    const statementsPerGoverned = counter.count() / STATEMENT_PASS;
    const transactionsPerGoverned = counter.transactions() / STATEMENT_PASS;

    out();
    out(
      `Latency (ms) and throughput, emulator latency ${opts.latencyMs} ms (floor: a workflow returning its input)`,
    );
    out(table(['path', 'concurrency', 'requests', 'p50', 'p95', 'p99', 'req/s', 'errors'], rows));
    out();
    out('Added latency, governed minus direct (ms), and the floor beside it');
    out(
      table(
        [
          'concurrency',
          'added p50',
          'added p95',
          'added p99',
          'floor p50',
          'floor p95',
          'floor p99',
          'added - floor p50',
        ],
        added,
      ),
    );
    out();
    out(`Sustained runs, ${opts.durationS} s each`);
    const sustainedRow = (path: string, r: RunResult, s: Summary) => [
      path,
      String(opts.sustainedConcurrency),
      (r.elapsedMs / 1000).toFixed(1),
      String(r.latencies.length),
      s.rps.toFixed(1),
      ms(s.p50),
      ms(s.p95),
      ms(s.p99),
      String(s.errors),
    ];
    out(
      table(
        ['path', 'concurrency', 'duration s', 'completed', 'req/s', 'p50', 'p95', 'p99', 'errors'],
        [
          sustainedRow('floor', floorSustained.result, floorSummary),
          sustainedRow(`floor waiting ${floorWaitMs} ms`, floorWaitSustained.result, floorWaitSummary),
          sustainedRow('governed', governedSustained.result, governedSummary),
        ],
      ),
    );
    out(
      `governed/s against the floor: ${(governedSummary.rps / floorSummary.rps).toFixed(2)}; against the floor ` +
        `waiting as long as the direct call (a workflow that lives as long as the Groq call): ` +
        `${(governedSummary.rps / floorWaitSummary.rps).toFixed(2)}`,
    );
    const cpuRow = (path: string, cpu: CpuWindow, completed: number) => [
      path,
      ms(perRequest(cpu.processMs, completed)),
      ms(perRequest(cpu.othersMs, completed)),
      ms(perRequest(cpu.devServerMs, completed)),
      ms(perRequest(cpu.harnessMs, completed)),
    ];
    out();
    out('CPU ms per completed request or workflow');
    out(
      table(
        ['run', 'this process', 'other stack processes', 'Temporal dev server', 'emulator + load generator'],
        [
          ['direct (the level runs)', '-', '-', '-', ms(directCpuPerRequest)],
          cpuRow('floor (sustained)', floorSustained.cpu, floorDone),
          cpuRow(`floor waiting ${floorWaitMs} ms (sustained)`, floorWaitSustained.cpu, floorWaitDone),
          cpuRow('governed (sustained)', governedSustained.cpu, governedDone),
        ],
      ),
    );
    const stackCpuPerGoverned = perRequest(
      governedSustained.cpu.processMs + governedSustained.cpu.othersMs,
      governedDone,
    );
    out(
      `cpu_ms_per_governed: ${ms(stackCpuPerGoverned)} ms = this process (the gateway, the worker, the ledger ` +
        `client) and the stack's other processes (${mode === 'postgres' ? 'none' : 'the ledger host with PGlite'}) ` +
        `per governed request; not the dev server${mode === 'postgres' ? ', not the PostgreSQL server' : ''}, ` +
        `not the emulator and load generator (processes of their own)`,
    );
    const serverRow = (path: string, server: DevServerRunFigures | null) => [
      path,
      server ? ms(server.shardLockWaitMs) : '-',
      server ? server.visibilityStartWritesPerWorkflow.toFixed(2) : '-',
      server ? server.metadataReadsPerWorkflow.toFixed(2) : '-',
    ];
    out();
    out(
      "The dev server's view (its /metrics): the mean wait for its one history shard's lock, which every " +
        'workflow start and task completion takes for its SQLite write, the visibility records of a ' +
        "workflow's start written per completed workflow (one for a workflow still running when that task comes up), " +
        "and its reads of the cluster's metadata per completed workflow (none with the search attributes' cache on)",
    );
    out(
      table(
        ['run', 'shard lock wait ms', 'start visibility writes per workflow', 'metadata reads per workflow'],
        [
          serverRow('floor (sustained)', floorSustained.server),
          serverRow(`floor waiting ${floorWaitMs} ms (sustained)`, floorWaitSustained.server),
          serverRow('governed (sustained)', governedSustained.server),
        ],
      ),
    );
    out(
      `Load average 1-min: floor run ${floorSustained.load.map((v) => v.toFixed(2)).join(' -> ')}, ` +
        `floor waiting ${floorWaitSustained.load.map((v) => v.toFixed(2)).join(' -> ')}, ` +
        `governed run ${governedSustained.load.map((v) => v.toFixed(2)).join(' -> ')}`,
    );
    out();
    out(
      `Streamed requests at concurrency 1 (${opts.streamRequests} rounds of a direct stream, a floor workflow and a ` +
        `governed stream in turn): time to the first content chunk (ms), the floor's whole latency beside it`,
    );
    out(
      table(
        ['path', 'p50', 'p95', 'errors'],
        [
          ['direct', ms(ttftDirect.p50), ms(ttftDirect.p95), String(ttftDirect.errors)],
          ['governed', ms(ttftGoverned.p50), ms(ttftGoverned.p95), String(ttftGoverned.errors)],
          ['added', ms(ttftGoverned.p50 - ttftDirect.p50), ms(ttftGoverned.p95 - ttftDirect.p95), ''],
          ['floor', ms(ttftFloor.p50), ms(ttftFloor.p95), String(ttftFloor.errors)],
        ],
      ),
    );
    out();
    out(
      `History events per workflow (mean of ${loadGenerator.governedIds.length} governed and ` +
        `${floorIds.list().length} floor workflows run one at a time): governed ${ms(historyGoverned)}, ` +
        `floor ${ms(historyFloor)}; the last ones of the sustained runs (under load): governed ` +
        `${ms(loadedHistoryGoverned)}, floor ${ms(loadedHistoryFloor)}; a floor workflow ` +
        `${floorEager ? 'starts' : 'does NOT start'} eagerly; their size as the server stores them ` +
        `(the encoded history, payloads encrypted): governed ${Math.round(historyBytesGoverned)} bytes, ` +
        `floor ${Math.round(historyBytesFloor)}`,
    );
    out(
      `Ledger: ${ms(statementsPerGoverned)} SQL statements per governed request (BEGIN and COMMIT counted), ` +
        `${transactionsPerGoverned.toFixed(2)} transactions, over ${STATEMENT_PASS} sequential governed requests`,
    );
    out();
    const peakStack = sustainedPeak.bytes;
    out(
      `Peak RSS during the sustained governed run, this process + the stack's other processes (not the dev ` +
        `server): ${mb(peakStack)}. The stack's other processes (the ledger host with PGlite): ` +
        `${mb(othersAtSustainedStart)} when the sustained governed run started, ${mb(peakOthersRss)} at most. ` +
        `Whole run: this process ${mb(peakRss)} (the stack and the floor's client, sampled every ` +
        `100 ms); the emulator and the load generator ${mb(peakHarnessRss)} together; Temporal dev server ${peakDevServerRss ? mb(peakDevServerRss) : 'n/a'} (sampled every 0.5-1 s ` +
        `after start-up); child processes at start-up (dev server, PGlite initdb, workflow bundling): ` +
        `${mb(startupChildPeak)}`,
    );
    const atPeak = sustainedPeak.memory;
    if (atPeak)
      out(
        `This process at that peak: RSS ${mb(atPeak.rss)}, of it V8's heap ${mb(atPeak.heapTotal)} ` +
          `(${mb(atPeak.heapUsed)} in use), buffers and other memory JavaScript holds outside the heap ` +
          `${mb(atPeak.external)}; the rest (${mb(atPeak.rss - atPeak.heapTotal - atPeak.external)}) is ` +
          `code, Temporal's core, malloc's arenas and thread stacks`,
      );
    const loadEnd = loadavg();
    out(`Load average at the end: ${loadText(loadEnd)}`);
    for (const problem of problems) out(`error sample: ${problem}`);
    out(`Errors: ${errors}`);

    if (opts.json) {
      const c1 = levels.find((entry) => entry.level === 1);
      const figures: OverheadFigures = {
        direct_p50_c1: c1?.direct.p50 ?? Number.NaN,
        floor_p50_c1: c1?.floor.p50 ?? Number.NaN,
        governed_p50_c1: c1?.governed.p50 ?? Number.NaN,
        floor_rps_c64: floorSummary.rps,
        governed_rps_c64: governedSummary.rps,
        cpu_ms_per_governed: stackCpuPerGoverned,
        devserver_cpu_ms_per_governed: perRequest(governedSustained.cpu.devServerMs, governedDone),
        devserver_cpu_ms_per_floor: perRequest(floorSustained.cpu.devServerMs, floorDone),
        peak_rss_mb: peakStack / 1024 / 1024,
        history_events_per_governed: historyGoverned,
        history_events_per_floor: historyFloor,
        ledger_statements_per_governed: statementsPerGoverned,
        stream_ttft_added_p50_c1: ttftGoverned.p50 - ttftDirect.p50,
        mode,
      };
      writeFigures(opts.json, figures, {
        direct_stream_ttft_p50_c1: ttftDirect.p50,
        governed_stream_ttft_p50_c1: ttftGoverned.p50,
        floor_p50_c1_beside_streams: ttftFloor.p50,
        process_cpu_ms_per_governed: perRequest(governedSustained.cpu.processMs, governedDone),
        others_cpu_ms_per_governed: perRequest(governedSustained.cpu.othersMs, governedDone),
        process_rss_after_startup_mb: startupRss / 1024 / 1024,
        others_rss_at_sustained_start_mb: othersAtSustainedStart / 1024 / 1024,
        others_peak_rss_mb: peakOthersRss / 1024 / 1024,
        process_peak_rss_mb: peakRss / 1024 / 1024,
        process_heap_total_at_peak_mb: atPeak ? atPeak.heapTotal / 1024 / 1024 : null,
        process_heap_used_at_peak_mb: atPeak ? atPeak.heapUsed / 1024 / 1024 : null,
        process_external_at_peak_mb: atPeak ? atPeak.external / 1024 / 1024 : null,
        process_cpu_ms_per_floor: perRequest(floorSustained.cpu.processMs, floorDone),
        devserver_shard_lock_wait_ms_governed: governedSustained.server?.shardLockWaitMs ?? null,
        devserver_shard_lock_wait_ms_floor: floorSustained.server?.shardLockWaitMs ?? null,
        devserver_shard_lock_wait_ms_floor_wait: floorWaitSustained.server?.shardLockWaitMs ?? null,
        devserver_visibility_start_writes_per_governed:
          governedSustained.server?.visibilityStartWritesPerWorkflow ?? null,
        devserver_visibility_start_writes_per_floor:
          floorSustained.server?.visibilityStartWritesPerWorkflow ?? null,
        devserver_visibility_start_writes_per_floor_wait:
          floorWaitSustained.server?.visibilityStartWritesPerWorkflow ?? null,
        devserver_metadata_reads_per_governed: governedSustained.server?.metadataReadsPerWorkflow ?? null,
        devserver_metadata_reads_per_floor: floorSustained.server?.metadataReadsPerWorkflow ?? null,
        devserver_metadata_reads_per_floor_wait: floorWaitSustained.server?.metadataReadsPerWorkflow ?? null,
        floor_wait_ms: floorWaitMs,
        floor_wait_rps_c64: floorWaitSummary.rps,
        process_cpu_ms_per_floor_wait: perRequest(floorWaitSustained.cpu.processMs, floorWaitDone),
        devserver_cpu_ms_per_floor_wait: perRequest(floorWaitSustained.cpu.devServerMs, floorWaitDone),
        harness_cpu_ms_per_direct: directCpuPerRequest,
        harness_cpu_ms_per_governed: perRequest(governedSustained.cpu.harnessMs, governedDone),
        harness_peak_rss_mb: peakHarnessRss / 1024 / 1024,
        ledger_transactions_per_governed: transactionsPerGoverned,
        history_events_per_governed_under_load: loadedHistoryGoverned,
        history_events_per_floor_under_load: loadedHistoryFloor,
        history_bytes_per_governed: historyBytesGoverned,
        history_bytes_per_floor: historyBytesFloor,
        sustained_concurrency: opts.sustainedConcurrency,
        floor_eager_start: floorEager,
        errors,
        date: startedAtDate.toISOString(),
        finished: new Date().toISOString(),
        load_average_start: loadStart,
        load_average_end: loadEnd,
        machine,
        options: opts,
        ledger: stack.ledgerDescription,
        levels: levels.map(({ level, direct: d, floor: f, governed: g }) => ({
          level,
          direct: d,
          floor: f,
          governed: g,
        })),
      });
      out(`Figures written to ${opts.json}`);
    }
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
