// keyRotation on the time-skipping server: the 24-hour monitor runs in seconds, against a real ledger
// (PGlite), a real encrypted secret store and the emulator (validation calls it with the new secret).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  RotationError,
  actOnRotation,
  rotationHandle,
  rotationStatus,
  startRotation,
} from '../../client/services/rotation';
import type { RotationPhase } from '../../workflows/key-rotation-messages';
import { KEY, NEW_KEY_AT_EMULATOR, startRotationStack, type RotationStack } from '../support/rotation-stack';
import { ownTimeSkippingEnv, uniqueTaskQueue } from '../support/temporal';

const HOUR = 3_600_000;

describe('keyRotation on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let stack: RotationStack;
  // each test skips a day or more: a server of its own per test, so none inherits the skipped time or the
  // leftovers of the tests before it (on the shared server, the later tests' updates hung)
  // A test that timed out leaves its body running: a client call still waiting on the test server when
  // teardown stops it fails UNAVAILABLE, the client's retry fires after the channel closed and throws
  // "Channel has been shut down" from a timer, an uncaught error that fails the whole run. So every body
  // runs its client calls under a signal that teardown aborts first, and teardown waits for it to end.
  let calls: AbortController;
  let body: Promise<unknown> | undefined;
  beforeEach(async () => {
    calls = new AbortController();
    body = undefined;
    env = await ownTimeSkippingEnv();
    stack = await startRotationStack();
  });
  afterEach(async () => {
    calls.abort();
    await body?.catch(() => undefined);
    // a test that failed half-way must not leave its rotation running for the next one
    await rotationHandle(env.client, KEY)
      .terminate('test over')
      .catch(() => undefined);
    await stack?.close();
    await env?.teardown();
  });

  /** the test's body, its client calls cancelled when the test ends */
  function guarded(fn: () => Promise<void>): () => Promise<void> {
    return () => {
      const run = env.connection.withAbortSignal(calls.signal, fn);
      body = run;
      return run;
    };
  }

  async function start(taskQueue: string, extra: Record<string, unknown> = {}) {
    return startRotation(
      env.client,
      { keyName: KEY, actor: 'cli:test', checkIntervalMs: HOUR, ...extra },
      { taskQueue },
    );
  }

  /** polls the status query (real time; workflow time stands still until the test skips it) */
  async function untilPhase(phase: RotationPhase) {
    for (let i = 0; i < 400; i++) {
      calls.signal.throwIfAborted();
      const status = await rotationStatus(env.client, KEY);
      if (status.phase === phase) return status;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the rotation never reached phase ${phase}`);
  }

  it(
    'happy path: validates, promotes, proves the old version idle for 24 hours and revokes it',
    guarded(async () => {
      const taskQueue = uniqueTaskQueue('rotation-ts');
      const worker = await stack.worker(env.nativeConnection, taskQueue);
      const result = await worker.runUntil(async () => (await start(taskQueue)).result());
      expect(result.outcome).toBe('completed');
      expect(result.oldVersion).toBe(1);
      expect(result.newVersion).toBe(2);
      expect(result.monitorEndedAt! - result.promotedAt!).toBeGreaterThanOrEqual(24 * HOUR);
      expect(result.windowExtensions).toBe(0);
      const versions = await stack.versions();
      expect(versions.map((v) => [v.version, v.state])).toEqual([
        [1, 'revoked'],
        [2, 'active'],
      ]);
      // the old secret is gone from the store, new requests resolve the new version
      expect(await stack.store.get(KEY, 1)).toBeUndefined();
      expect((await stack.resolver.resolve(KEY)).version).toBe(2);
      // validation called the emulator with the new secret itself
      expect(stack.emulator.requestCount(NEW_KEY_AT_EMULATOR)).toBe(1);
      const actions = (await stack.ledger.listAudit({ target: `rotation:${KEY}` }))
        .map((e) => e.action)
        .reverse();
      expect(actions).toEqual([
        'rotation.started',
        'rotation.validated',
        'rotation.promoted',
        'rotation.retired',
        'rotation.completed',
      ]);
      expect(stack.alerts.at(-1)?.message).toMatch(/Delete that key in the Groq console/);
    }),
  );

  it(
    'traffic on the old version extends the window and alerts',
    guarded(async () => {
      const taskQueue = uniqueTaskQueue('rotation-ts');
      const worker = await stack.worker(env.nativeConnection, taskQueue);
      const result = await worker.runUntil(async () => {
        const handle = await start(taskQueue);
        await untilPhase('monitoring');
        await env.sleep(2 * HOUR);
        await stack.traffic(1, 3); // a stale client still calls with the old version
        return handle.result();
      });
      expect(result.outcome).toBe('completed');
      expect(result.windowExtensions).toBeGreaterThanOrEqual(1);
      // the window started again after the traffic: at least 2 h + 24 h after promotion
      expect(result.monitorEndedAt! - result.promotedAt!).toBeGreaterThanOrEqual(26 * HOUR);
      expect(result.traffic.find((t) => t.version === 1)?.requests).toBe(3);
      expect(stack.alerts.some((a) => /on the retiring version 1/.test(a.message))).toBe(true);
      expect((await stack.versions()).find((v) => v.version === 1)?.state).toBe('revoked');
    }),
  );

  it(
    '401s on the new version roll back to the old one and alert',
    guarded(async () => {
      const taskQueue = uniqueTaskQueue('rotation-ts');
      const worker = await stack.worker(env.nativeConnection, taskQueue);
      const result = await worker.runUntil(async () => {
        const handle = await start(taskQueue);
        await untilPhase('monitoring');
        expect((await stack.resolver.resolve(KEY)).version).toBe(2);
        await env.sleep(3 * HOUR);
        await stack.traffic(2, 5);
        await stack.traffic(2, 1, 401);
        return handle.result();
      });
      expect(result.outcome).toBe('rolled-back');
      expect(result.reason).toMatch(/401/);
      expect(result.monitorEndedAt).toBeNull();
      const versions = await stack.versions();
      expect(versions.map((v) => [v.version, v.state])).toEqual([
        [1, 'active'],
        [2, 'next'],
      ]);
      expect(await stack.store.get(KEY, 1)).toBe(stack.oldSecret);
      expect((await stack.resolver.resolve(KEY)).version).toBe(1);
      expect(
        stack.alerts.some((a) => a.severity === 'critical' && /rolled back to version 1/.test(a.message)),
      ).toBe(true);
    }),
  );

  // The abort update only records the request; the workflow audits and rolls back in its main flow. (When
  // its handler awaited an activity itself, the time-skipping server sometimes refused the completion of
  // the activation answering it, "invalid history builder state for action", and the update hung.) Under
  // the full suite's load the test server still hung on it once in three runs on 2026-12-06 (it passes
  // alone): one retry on a fresh test server, and the hang stays in the closing note. (On 2026-12-07 the
  // retry passed but the first try's update, still polling, was cut by the teardown: see `guarded`.)
  it(
    'abort during the monitor rolls back',
    { retry: 1 },
    guarded(async () => {
      const taskQueue = uniqueTaskQueue('rotation-ts');
      const worker = await stack.worker(env.nativeConnection, taskQueue);
      const result = await worker.runUntil(async () => {
        const handle = await start(taskQueue);
        await untilPhase('monitoring');
        await env.sleep(5 * HOUR);
        const status = await actOnRotation(env.client, KEY, 'abort', {
          actor: 'cli:admin',
          reason: 'wrong key',
        });
        expect(status.phase).toBe('monitoring');
        return handle.result();
      });
      expect(result.outcome).toBe('aborted');
      expect(result.reason).toBe('wrong key');
      expect((await stack.versions()).map((v) => v.state)).toEqual(['active', 'next']);
      const audit = await stack.ledger.listAudit({ target: `rotation:${KEY}` });
      expect(audit.find((e) => e.action === 'rotation.abort-requested')?.actor).toBe('cli:admin');
    }),
  );

  it(
    'a worker restart in the middle of the monitor changes nothing',
    guarded(async () => {
      const taskQueue = uniqueTaskQueue('rotation-ts');
      // no workflow cache, so no sticky queue: its tasks go to the shared queue the next worker polls, as
      // after a crash once the sticky timeout passed
      const first = await stack.worker(env.nativeConnection, taskQueue, { maxCachedWorkflows: 0 });
      const handle = await first.runUntil(async () => {
        const started = await start(taskQueue);
        await untilPhase('monitoring');
        await env.sleep(10 * HOUR);
        return started;
      });
      // the first worker is gone; a fresh one (new process state, same ledger and store) takes over
      const second = await stack.worker(env.nativeConnection, taskQueue);
      const result = await second.runUntil(handle.result());
      expect(result.outcome).toBe('completed');
      expect(result.monitorEndedAt! - result.promotedAt!).toBeGreaterThanOrEqual(24 * HOUR);
      expect(result.monitorEndedAt! - result.promotedAt!).toBeLessThan(25 * HOUR);
      const events = (await stack.ledger.listAudit({ target: `upstream_key:${KEY}` })).map((e) => e.action);
      expect(events.filter((a) => a === 'upstream_key.promote')).toHaveLength(1);
      expect(events.filter((a) => a === 'upstream_key.revoke')).toHaveLength(1);
      expect((await stack.versions()).map((v) => v.state)).toEqual(['revoked', 'active']);
    }),
  );

  it(
    'refuses a second rotation of the same key name while one runs',
    guarded(async () => {
      const taskQueue = uniqueTaskQueue('rotation-ts');
      const worker = await stack.worker(env.nativeConnection, taskQueue);
      const result = await worker.runUntil(async () => {
        const handle = await start(taskQueue, { requireApproval: true });
        await untilPhase('awaiting-approval');
        await expect(start(taskQueue)).rejects.toThrow(RotationError);
        await expect(start(taskQueue)).rejects.toThrow(/already running/);
        // nothing moved while waiting for approval
        expect((await stack.resolver.resolve(KEY)).version).toBe(1);
        await actOnRotation(env.client, KEY, 'approve', { actor: 'cli:admin' });
        await untilPhase('monitoring');
        await expect(
          actOnRotation(env.client, KEY, 'skip-monitor', { actor: 'cli:admin', reason: ' ' }),
        ).rejects.toThrow(/reason/);
        await actOnRotation(env.client, KEY, 'skip-monitor', { actor: 'cli:admin', reason: 'incident 42' });
        return handle.result();
      });
      expect(result.outcome).toBe('completed');
      expect(result.reason).toMatch(/incident 42/);
      expect((await stack.versions()).map((v) => v.state)).toEqual(['revoked', 'active']);
    }),
  );

  it(
    'a canary share goes to the new version first; a 401 during the canary rolls back',
    guarded(async () => {
      const taskQueue = uniqueTaskQueue('rotation-ts');
      const worker = await stack.worker(env.nativeConnection, taskQueue);
      const result = await worker.runUntil(async () => {
        const handle = await start(taskQueue, { canaryPercent: 25, canaryMs: 2 * HOUR });
        await untilPhase('canary');
        const versions = await stack.versions();
        expect(versions.map((v) => [v.state, v.canaryPercent])).toEqual([
          ['active', 0],
          ['next', 25],
        ]);
        // about a quarter of new requests resolve the new version
        const chosen = await Promise.all(Array.from({ length: 400 }, () => stack.resolver.resolve(KEY)));
        const onNew = chosen.filter((r) => r.version === 2).length;
        expect(onNew).toBeGreaterThan(40);
        expect(onNew).toBeLessThan(200);
        await stack.traffic(2, 1, 401);
        return handle.result();
      });
      expect(result.outcome).toBe('rolled-back');
      expect(result.promotedAt).toBeNull();
      expect((await stack.versions()).map((v) => [v.state, v.canaryPercent])).toEqual([
        ['active', 0],
        ['next', 0],
      ]);
    }),
  );

  it(
    'a healthy canary is promoted; with deletion confirmation the workflow waits for confirm-deleted',
    guarded(async () => {
      const taskQueue = uniqueTaskQueue('rotation-ts');
      const worker = await stack.worker(env.nativeConnection, taskQueue);
      const result = await worker.runUntil(async () => {
        const handle = await start(taskQueue, {
          canaryPercent: 10,
          canaryMs: HOUR,
          awaitDeletionConfirmation: true,
        });
        await untilPhase('canary');
        await stack.traffic(2, 30);
        await env.sleep(2 * HOUR);
        await untilPhase('monitoring');
        await env.sleep(25 * HOUR);
        await untilPhase('awaiting-deletion');
        expect((await stack.versions()).map((v) => v.state)).toEqual(['revoked', 'active']);
        await actOnRotation(env.client, KEY, 'confirm-deleted', { actor: 'cli:admin' });
        return handle.result();
      });
      expect(result.outcome).toBe('completed');
      expect(result.traffic.find((t) => t.version === 2)?.requests).toBe(30);
      const audit = await stack.ledger.listAudit({ target: `rotation:${KEY}` });
      expect(audit.find((e) => e.action === 'rotation.deletion-confirmed')?.actor).toBe('cli:admin');
    }),
  );

  it(
    'a new version that Groq rejects fails validation and moves nothing',
    guarded(async () => {
      stack.emulator.revokeKey(NEW_KEY_AT_EMULATOR);
      const taskQueue = uniqueTaskQueue('rotation-ts');
      const worker = await stack.worker(env.nativeConnection, taskQueue);
      const result = await worker.runUntil(async () => (await start(taskQueue)).result());
      expect(result.outcome).toBe('failed');
      expect(result.reason).toMatch(/validation failed: Groq answered 401/);
      expect((await stack.versions()).map((v) => v.state)).toEqual(['active', 'next']);
    }),
  );
});
