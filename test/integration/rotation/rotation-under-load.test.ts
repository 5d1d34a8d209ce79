// A key rotation end to end on the dev server: the gateway, a worker and the emulator, with governed
// requests (JSON and streamed, through the official groq-sdk) running the whole time. Zero requests
// fail; the emulator sees the old and the new key during the overlap and only the new one after the
// rotation; revoking the old key at the emulator afterwards breaks nothing; a 401 on the new version
// fails requests over to the old one and rolls the rotation back. No secret reaches a history.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq from 'groq-sdk';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { rotationHandle, rotationStatus, startRotation } from '../../../client/services/rotation';
import { rotationWorkflowId } from '../../../workflows/key-rotation-messages';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { describeFindings, scanHistories } from '../../support/history-scan';
import { KEY, NEW_KEY_AT_EMULATOR, rotationParts, type RotationParts } from '../../support/rotation-stack';
import { devServerEnv } from '../../support/temporal';

interface Load {
  ok: number;
  failed: string[];
  stop(): Promise<void>;
}

/** `workers` loops of requests through the gateway until stopped; every third one streams. */
function startLoad(groq: Groq, workers = 4): Load {
  let running = true;
  const load: Load = {
    ok: 0,
    failed: [],
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
  let n = 0;
  const one = async () => {
    const i = n++;
    if (i % 3 === 2) {
      const stream = await groq.chat.completions.create({
        model: 'llama-3.1-8b-instant',
        messages: [{ role: 'user', content: `stream ${i}` }],
        max_completion_tokens: 16,
        stream: true,
      });
      for await (const _chunk of stream) void _chunk;
    } else {
      const reply = await groq.chat.completions.create({
        model: 'llama-3.1-8b-instant',
        messages: [{ role: 'user', content: `hello ${i}` }],
        max_completion_tokens: 16,
      });
      if (!reply.choices[0]) throw new Error('no choice');
    }
  };
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        await one();
        load.ok++;
      } catch (error) {
        load.failed.push(String(error));
      }
    }
  });
  return load;
}

async function until(check: () => boolean | Promise<boolean>, what: string) {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('key rotation under load (dev server, gateway, emulator)', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let parts: RotationParts;
  let groq: Groq;

  beforeAll(async () => {
    env = await devServerEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });
  afterEach(async () => {
    await rotationHandle(stack.client, KEY)
      .terminate('test over')
      .catch(() => undefined);
    await stack?.close();
  });

  async function setUp() {
    stack = await startCompletionStack(env, {
      gateway: true,
      rotation: async (ledger, emulator) => {
        parts = await rotationParts(ledger, emulator, { cacheMs: 200 });
        return { resolver: parts.resolver, rotation: parts.rotation };
      },
    });
    groq = new Groq({ baseURL: stack.gateway!.url, apiKey: (await stack.issue('alpha')).key, maxRetries: 0 });
  }

  const usedVersions = async () =>
    new Set((await stack.ledger.listUsage({ limit: 100_000 })).map((row) => row.keyVersion));

  it('rotates with zero failed requests; afterwards only the new key is used, and the old one can go', async () => {
    await setUp();
    const load = startLoad(groq);
    await until(() => stack.emulator.requestCount(KEY) >= 10, 'traffic on the old key');

    const handle = await startRotation(
      stack.client,
      { keyName: KEY, actor: 'cli:test', monitorWindowMs: 3000, checkIntervalMs: 250 },
      { taskQueue: stack.taskQueue },
    );
    await until(async () => (await rotationStatus(stack.client, KEY)).phase === 'monitoring', 'promotion');
    // during the overlap both keys are valid at the emulator and new requests reach the new one
    await until(() => stack.emulator.requestCount(NEW_KEY_AT_EMULATOR) >= 10, 'traffic on the new key');
    const result = await handle.result();
    expect(result.outcome).toBe('completed');
    const oldAtRetirement = stack.emulator.requestCount(KEY);
    const newAtRetirement = stack.emulator.requestCount(NEW_KEY_AT_EMULATOR);
    expect(oldAtRetirement).toBeGreaterThanOrEqual(10);

    // after the rotation only the new key is used
    await until(() => stack.emulator.requestCount(NEW_KEY_AT_EMULATOR) >= newAtRetirement + 20, 'more load');
    expect(stack.emulator.requestCount(KEY)).toBe(oldAtRetirement);

    // the admin deletes the old key in the console: nothing breaks
    expect(stack.emulator.revokeKey(KEY)).toBe(true);
    const afterDelete = stack.emulator.requestCount(NEW_KEY_AT_EMULATOR);
    await until(
      () => stack.emulator.requestCount(NEW_KEY_AT_EMULATOR) >= afterDelete + 20,
      'load after delete',
    );
    await load.stop();

    expect(load.failed).toEqual([]);
    expect(load.ok).toBeGreaterThan(50);
    expect(stack.emulator.requestCount(KEY)).toBe(oldAtRetirement);
    expect(await usedVersions()).toEqual(new Set([1, 2]));
    expect((await parts.resolver.resolve(KEY)).version).toBe(2);

    // no secret anywhere in the rotation's history
    const scan = await scanHistories({
      client: stack.client,
      workflowIds: [rotationWorkflowId(KEY)],
      forbidden: [parts.oldSecret, parts.newSecret],
    });
    expect(scan.events).toBeGreaterThan(10);
    expect(scan.findings, describeFindings(scan.findings)).toEqual([]);
    // nor in the alerts and the audit log
    const audit = JSON.stringify(
      (await stack.ledger.listAudit({ limit: 1000 })).map(({ id: _id, ...entry }) => entry),
    );
    for (const secret of [parts.oldSecret, parts.newSecret]) {
      expect(JSON.stringify(parts.alerts)).not.toContain(secret.slice(4));
      expect(audit).not.toContain(secret.slice(4));
    }
    expect(audit).toContain(`gsk_…${parts.newSecret.slice(-4)}`);
  });

  it('a 401 on the new version fails requests over to the old one and rolls the rotation back', async () => {
    await setUp();
    const load = startLoad(groq);
    await until(() => stack.emulator.requestCount(KEY) >= 10, 'traffic on the old key');
    const handle = await startRotation(
      stack.client,
      { keyName: KEY, actor: 'cli:test', monitorWindowMs: 60_000, checkIntervalMs: 250 },
      { taskQueue: stack.taskQueue },
    );
    await until(() => stack.emulator.requestCount(NEW_KEY_AT_EMULATOR) >= 10, 'traffic on the new key');
    // someone deletes the new key in the console by mistake
    stack.emulator.revokeKey(NEW_KEY_AT_EMULATOR);
    const result = await handle.result();
    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toMatch(/401/);
    const oldAfterRollback = stack.emulator.requestCount(KEY);
    await until(() => stack.emulator.requestCount(KEY) >= oldAfterRollback + 20, 'load after rollback');
    await load.stop();

    expect(load.failed).toEqual([]);
    const rejected = stack.emulator
      .requestLog()
      .keys[NEW_KEY_AT_EMULATOR]!.minutes.reduce((sum, minute) => sum + (minute.statuses['401'] ?? 0), 0);
    expect(rejected).toBeGreaterThan(0);
    expect((await parts.resolver.resolve(KEY)).version).toBe(1);
    expect(
      parts.alerts.some((a) => /401 for upstream key alpha-test-gateway version 2/.test(a.message)),
    ).toBe(true);
    expect(parts.alerts.some((a) => /rolled back to version 1/.test(a.message))).toBe(true);
  });
});
