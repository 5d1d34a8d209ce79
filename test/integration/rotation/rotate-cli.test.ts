// `groq-governor rotate ...` through the command's `run` against the dev server (TEMPORAL_ADDRESS) and a
// worker with the rotation activities: start, status, a refused second start, skip-monitor with a
// reason, and nothing printed that contains a secret.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { run } from '../../../client/cli/commands/rotate';
import type { CliIO } from '../../../client/cli/io';
import { rotationHandle } from '../../../client/services/rotation';
import { dataConverterFor } from '../../../workers/codec';
import { KEY, startRotationStack, type RotationStack } from '../../support/rotation-stack';
import { devServerEnv, uniqueTaskQueue } from '../../support/temporal';

describe('rotate CLI', () => {
  let env: TestWorkflowEnvironment;
  let stack: RotationStack;
  let codecDir: string;
  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startRotationStack();
    codecDir = mkdtempSync(join(tmpdir(), 'gg-rotate-cli-'));
    process.env.TEMPORAL_ADDRESS = inject('temporalDevAddress');
  });
  afterAll(async () => {
    await rotationHandle(env.client, KEY)
      .terminate('test over')
      .catch(() => undefined);
    await stack?.close();
    await env?.teardown();
    rmSync(codecDir, { recursive: true, force: true });
  });

  async function cli(...argv: string[]) {
    const lines: string[] = [];
    const io: CliIO = { stdout: (t) => lines.push(t), stderr: (t) => lines.push(t) };
    const code = await run([...argv, '--data-dir', codecDir], io);
    const text = lines.join('\n');
    expect(text).not.toContain(stack.oldSecret.slice(4));
    expect(text).not.toContain(stack.newSecret.slice(4));
    return { code, text };
  }

  it('starts a rotation, shows its status, refuses a second start and skips the monitor with a reason', async () => {
    const taskQueue = uniqueTaskQueue('rotate-cli');
    // the worker and the CLI share the data folder's payload codec, as in a deployment
    const dataConverter = await dataConverterFor({ dataDir: codecDir, env: {} });
    const worker = await stack.worker(env.nativeConnection, taskQueue, { dataConverter });
    await worker.runUntil(async () => {
      expect((await cli('start', 'Bad-Name', '--task-queue', taskQueue)).code).toBe(1);
      expect((await cli('start', KEY, '--window', 'soon')).code).toBe(2);
      const started = await cli(
        'start',
        KEY,
        '--window',
        '1h',
        '--check-every',
        '1s',
        '--task-queue',
        taskQueue,
      );
      expect(started.code).toBe(0);
      expect(started.text).toContain(`Rotation of ${KEY}: monitoring`);
      expect(started.text).toContain('versions:  1 -> 2');
      const [host, port] = inject('temporalDevAddress').split(':');
      expect(started.text).toContain(
        `Temporal Web UI: http://${host}:${Number(port) + 1000}/namespaces/default/workflows/key-rotation%3A${KEY}`,
      );
      const again = await cli('start', KEY, '--task-queue', taskQueue);
      expect(again.code).toBe(1);
      expect(again.text).toMatch(/already running/);
      const status = await cli('status', KEY);
      expect(status.code).toBe(0);
      expect(status.text).toMatch(/time left: \d+ min/);
      expect((await cli('skip-monitor', KEY)).code).toBe(1);
      const skipped = await cli('skip-monitor', KEY, '--reason', 'maintenance window');
      expect(skipped.code).toBe(0);
      const client = new Client({ connection: env.connection, dataConverter });
      const result = await rotationHandle(client, KEY).result();
      expect(result.outcome).toBe('completed');
    });
    expect((await stack.versions()).map((v) => v.state)).toEqual(['revoked', 'active']);
    const audit = await stack.ledger.listAudit({ target: `rotation:${KEY}` });
    expect(audit.find((e) => e.action === 'rotation.skip-monitor-requested')?.actor).toMatch(/^cli:/);
  });
});
