// Key rotations over the admin HTTP API on the dev server: only org-admins may manage them, a second
// start for the same key name is refused with 409, the status and the admin actions work, and the
// audit log names the acting gateway key.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotationHandle } from '../../../client/services/rotation';
import type { KeyRotationResult } from '../../../workflows/key-rotation-messages';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { KEY, rotationParts, type RotationParts } from '../../support/rotation-stack';
import { devServerEnv } from '../../support/temporal';

describe('rotations over the admin API', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let parts: RotationParts;
  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, {
      gateway: true,
      rotation: async (ledger, emulator) => {
        parts = await rotationParts(ledger, emulator);
        return { resolver: parts.resolver, rotation: parts.rotation };
      },
    });
  });
  afterAll(async () => {
    await rotationHandle(stack.client, KEY)
      .terminate('test over')
      .catch(() => undefined);
    await stack?.close();
    await env?.teardown();
  });

  const call = async (key: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.gateway!.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('org-admins start, inspect and abort a rotation; others are refused', async () => {
    const admin = await stack.issue(null, 'org-admin');
    const teamAdmin = await stack.issue('alpha', 'team-admin');
    const start = { key_name: KEY, monitor_window: '1h', check_interval: '1s', require_approval: true };

    expect((await call(teamAdmin.key, 'POST', '/admin/rotations', start)).status).toBe(403);
    expect((await call(teamAdmin.key, 'GET', `/admin/rotations/${KEY}`)).status).toBe(403);
    expect((await call(admin.key, 'POST', '/admin/rotations', { key_name: 'Not A Key' })).status).toBe(400);

    const started = await call(admin.key, 'POST', '/admin/rotations', start);
    expect(started.status).toBe(201);
    expect(started.body.workflow_id).toBe(`key-rotation:${KEY}`);
    const again = await call(admin.key, 'POST', '/admin/rotations', start);
    expect(again.status).toBe(409);
    expect(JSON.stringify(again.body)).toMatch(/already running/);

    let status: Record<string, unknown> = {};
    for (let i = 0; i < 200 && status.phase !== 'awaiting-approval'; i++) {
      status = (await call(admin.key, 'GET', `/admin/rotations/${KEY}`)).body;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toMatchObject({ keyName: KEY, phase: 'awaiting-approval', oldVersion: 1, newVersion: 2 });
    // skip-monitor does not fit this phase; approve does
    expect(
      (await call(admin.key, 'POST', `/admin/rotations/${KEY}/skip-monitor`, { reason: 'x' })).status,
    ).toBe(409);
    expect((await call(admin.key, 'POST', `/admin/rotations/${KEY}/approve`)).status).toBe(200);
    for (let i = 0; i < 200 && status.phase !== 'monitoring'; i++) {
      status = (await call(admin.key, 'GET', `/admin/rotations/${KEY}`)).body;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status.phase).toBe('monitoring');
    expect(status.timeLeftMs).toBeGreaterThan(0);
    const aborted = await call(admin.key, 'POST', `/admin/rotations/${KEY}/abort`, {
      reason: 'changed my mind',
    });
    expect(aborted.status).toBe(200);
    const result: KeyRotationResult = await rotationHandle(stack.client, KEY).result();
    expect(result.outcome).toBe('aborted');
    expect((await parts.resolver.resolve(KEY)).version).toBe(1);
    const audit = await stack.ledger.listAudit({ target: `rotation:${KEY}` });
    expect(audit.find((e) => e.action === 'rotation.started')?.actor).toBe(`key:${admin.id}`);
    expect(audit.find((e) => e.action === 'rotation.approved')?.actor).toBe(`key:${admin.id}`);
    expect(audit.find((e) => e.action === 'rotation.abort-requested')?.actor).toBe(`key:${admin.id}`);
    expect((await call(admin.key, 'GET', '/admin/rotations/nobody-prod-none')).status).toBe(404);
  });
});
