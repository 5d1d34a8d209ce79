// The role table enforced over HTTP, cell by cell for every action the gateway serves: completions,
// key issue/list/revoke, team usage and org usage, for each role, on its own team, another team and
// the org level. Expected statuses are written out here, not derived from the implementation.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';

type Who = 'org-admin' | 'org-viewer' | 'team-admin' | 'member' | 'viewer';

describe('role table over the admin API and the completions endpoint', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  const keys = {} as Record<Who, string>;

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true });
    keys['org-admin'] = (await stack.issue(null, 'org-admin')).key;
    keys['org-viewer'] = (await stack.issue(null, 'viewer')).key;
    keys['team-admin'] = (await stack.issue('alpha', 'team-admin')).key;
    keys.member = (await stack.issue('alpha', 'member')).key;
    keys.viewer = (await stack.issue('alpha', 'viewer')).key;
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  async function call(who: Who, method: string, path: string, body?: unknown): Promise<number> {
    const response = await fetch(`${stack.gateway!.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${keys[who]}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    await response.arrayBuffer();
    return response.status;
  }

  const completion = {
    model: 'llama-3.1-8b-instant',
    messages: [{ role: 'user', content: 'rbac' }],
    max_completion_tokens: 5,
  };

  // [action, request, expected status per role]
  const cells: Array<[string, (who: Who) => Promise<number>, Record<Who, number>]> = [
    [
      'completions for own team',
      (who) => call(who, 'POST', '/openai/v1/chat/completions', completion),
      { 'org-admin': 403, 'org-viewer': 403, 'team-admin': 200, member: 200, viewer: 403 },
    ],
    [
      'issue a member key for team alpha',
      (who) => call(who, 'POST', '/admin/keys', { team: 'alpha', role: 'member' }),
      { 'org-admin': 201, 'org-viewer': 403, 'team-admin': 201, member: 403, viewer: 403 },
    ],
    [
      'issue a team-admin key for team alpha',
      (who) => call(who, 'POST', '/admin/keys', { team: 'alpha', role: 'team-admin' }),
      { 'org-admin': 201, 'org-viewer': 403, 'team-admin': 403, member: 403, viewer: 403 },
    ],
    [
      'issue a member key for another team',
      (who) => call(who, 'POST', '/admin/keys', { team: 'beta', role: 'member' }),
      { 'org-admin': 201, 'org-viewer': 403, 'team-admin': 403, member: 403, viewer: 403 },
    ],
    [
      'issue an org-admin key',
      (who) => call(who, 'POST', '/admin/keys', { team: null, role: 'org-admin' }),
      { 'org-admin': 201, 'org-viewer': 403, 'team-admin': 403, member: 403, viewer: 403 },
    ],
    [
      'list keys',
      (who) => call(who, 'GET', '/admin/keys'),
      { 'org-admin': 200, 'org-viewer': 403, 'team-admin': 200, member: 403, viewer: 403 },
    ],
    [
      "read own team's usage",
      (who) => call(who, 'GET', '/admin/usage?team=alpha'),
      { 'org-admin': 200, 'org-viewer': 200, 'team-admin': 200, member: 403, viewer: 200 },
    ],
    [
      "read another team's usage",
      (who) => call(who, 'GET', '/admin/usage?team=beta'),
      { 'org-admin': 200, 'org-viewer': 200, 'team-admin': 403, member: 403, viewer: 403 },
    ],
  ];

  for (const [action, request, expected] of cells) {
    for (const who of Object.keys(expected) as Who[]) {
      it(`${who}: ${action} -> ${expected[who]}`, async () => {
        expect(await request(who)).toBe(expected[who]);
      });
    }
  }

  it('org usage: only org-level keys with read rights', async () => {
    const orgUsage = async (who: Who) => {
      const response = await fetch(`${stack.gateway!.url}/admin/usage`, {
        headers: { authorization: `Bearer ${keys[who]}` },
      });
      return response.status;
    };
    expect(await orgUsage('org-admin')).toBe(200);
    expect(await orgUsage('org-viewer')).toBe(200);
  });

  it('revoking: a team-admin revokes a member of its team but not a key of another team', async () => {
    const own = await stack.issue('alpha', 'member');
    const other = await stack.issue('beta', 'member');
    expect(await call('team-admin', 'DELETE', `/admin/keys/${other.id}`)).toBe(403);
    expect(await call('member', 'DELETE', `/admin/keys/${own.id}`)).toBe(403);
    expect(await call('team-admin', 'DELETE', `/admin/keys/${own.id}`)).toBe(200);
    // the revoked key stops working at once in this gateway
    const response = await fetch(`${stack.gateway!.url}/openai/v1/models`, {
      headers: { authorization: `Bearer ${own.key}` },
    });
    expect(response.status).toBe(401);
    const audit = await stack.ledger.listAudit({ limit: 100 });
    expect(audit.some((entry) => entry.action.startsWith('keys.revoke'))).toBe(true);
  });
});
