// bench:overhead's harness in processes of its own: the emulator answers the official groq-sdk as Groq
// does, the load generator measures its calls where it makes them, and /proc tells both apart from the
// stack's processes, so the stack's CPU and RSS figures leave them out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorConfigFor } from '../../../client/services/upstream';
import { LoadProcess, startEmulatorProcess, type EmulatorProcess } from '../../../bench/overhead-harness';
import { descendants, isHarnessCommand, startCpuWindow } from '../../../bench/overhead-procs';
import { HARNESS_MARK } from '../../../bench/overhead-harness-messages';
import { benchConfig } from '../../../bench/support';

const MODEL = 'llama-3.1-8b-instant';

describe('bench:overhead harness processes', () => {
  let emulator: EmulatorProcess;
  let load: LoadProcess;

  beforeAll(async () => {
    const config = benchConfig('/tmp/governor-harness-test');
    emulator = await startEmulatorProcess({
      config: emulatorConfigFor(config),
      keyNames: config.upstreamKeys.map((key) => key.name),
      latencyMs: 30,
    });
    const key = config.upstreamKeys[0]!.name;
    load = await LoadProcess.start({
      emulatorUrl: emulator.url,
      upstreamSecret: emulator.secrets[key]!,
      // no gateway in this test: the governed path points at the emulator with a key it refuses
      gatewayUrl: emulator.url,
      gatewayKey: 'gsk_' + 'x'.repeat(52),
      model: MODEL,
    });
  }, 60_000);

  afterAll(async () => {
    await load?.stop();
    await emulator?.stop();
  });

  it('runs closed loops and single calls in the load generator, timed there', async () => {
    const window = startCpuWindow();
    const result = await load.run('direct', 4, { count: 12 });
    expect(result.errors).toBe(0);
    expect(result.latencies).toHaveLength(12);
    // the emulator's fixed latency is in every call
    for (const latency of result.latencies) expect(latency).toBeGreaterThanOrEqual(29);
    const one = await load.one('direct');
    expect(one.latencyMs).toBeGreaterThanOrEqual(29);
    const stream = await load.one('directStream');
    expect(stream.latencyMs).toBeGreaterThanOrEqual(29);
    const cpu = window();
    // the calls' CPU is the harness's, not this process's stack
    expect(cpu.harnessMs).toBeGreaterThan(0);
    expect(cpu.othersMs).toBe(0);
  });

  it('reports a refused call as an error with its message', async () => {
    await expect(load.one('governed')).rejects.toThrow(/401|invalid/i);
    const result = await load.run('governed', 2, { count: 3 });
    expect(result.errors).toBe(3);
    expect(result.errorSamples[0]).toMatch(/401|invalid/i);
  });

  it('is told apart from the stack by its mark', () => {
    const harness = descendants().filter((entry) => entry.kind === 'harness');
    const pids = harness.map((entry) => entry.pid);
    expect(pids).toContain(emulator.pid);
    expect(pids).toContain(load.pid);
    expect(descendants().filter((entry) => entry.kind === 'stack')).toEqual([]);
    expect(isHarnessCommand(['/usr/bin/node', '--import', 'tsx', 'x.ts', HARNESS_MARK])).toBe(true);
    expect(isHarnessCommand(['/usr/bin/node', '--import', 'tsx', 'ledger/host/entry.mjs'])).toBe(false);
  });
});
