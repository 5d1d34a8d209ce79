// GET /admin/reports over HTTP: org-level readers get the whole report, team-admins and team viewers
// only their own team's part, members nothing.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { REPORT_WEEK, reportConfig, seedReportLedger } from '../../support/report-seed';
import { devServerEnv } from '../../support/temporal';

type Who = 'org-admin' | 'org-viewer' | 'team-admin' | 'member' | 'viewer';

interface ReportBody {
  week: string;
  scope?: string;
  org?: { totals: { costNanos: string } };
  reconciliation?: { matches: boolean };
  teams: { team: string | null; totals: { costNanos: string; requests: string } }[];
  error?: { code: string };
}

describe('GET /admin/reports', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  const keys = {} as Record<Who, string>;

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true, config: reportConfig() });
    await seedReportLedger(stack.ledger);
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

  async function get(who: Who, query: string): Promise<{ status: number; body: ReportBody }> {
    const response = await fetch(`${stack.gateway!.url}/admin/reports${query}`, {
      headers: { authorization: `Bearer ${keys[who]}` },
    });
    return { status: response.status, body: (await response.json()) as ReportBody };
  }

  it.each(['org-admin', 'org-viewer'] as const)('%s reads every team and the org total', async (who) => {
    const { status, body } = await get(who, `?week=${REPORT_WEEK}`);
    expect(status).toBe(200);
    expect(body.week).toBe('2026-W47');
    expect(body.org?.totals.costNanos).toBe('1720016');
    expect(body.reconciliation?.matches).toBe(true);
    expect(body.teams.map((t) => [t.team, t.totals.costNanos])).toEqual([
      ['alpha', '1120016'],
      ['beta', '600000'],
      ['gamma', '0'],
      [null, '0'],
    ]);
  });

  it.each(['team-admin', 'viewer'] as const)("a team's %s reads only its own team's part", async (who) => {
    const { status, body } = await get(who, `?week=${REPORT_WEEK}`);
    expect(status).toBe(200);
    expect(body.scope).toBe('team:alpha');
    expect(body.org).toBeUndefined();
    expect(body.reconciliation).toBeUndefined();
    expect(body.teams).toEqual([
      expect.objectContaining({
        team: 'alpha',
        totals: expect.objectContaining({ costNanos: '1120016', requests: '5' }),
      }),
    ]);
    expect((await get(who, `?week=${REPORT_WEEK}&team=beta`)).status).toBe(403);
  });

  it('a member reads no report', async () => {
    const { status, body } = await get('member', `?week=${REPORT_WEEK}`);
    expect(status).toBe(403);
    expect(body.error?.code).toBe('permission_denied');
  });

  it('an org-admin may ask for one team', async () => {
    const { body } = await get('org-admin', `?week=${REPORT_WEEK}&team=beta`);
    expect(body.teams.map((t) => t.team)).toEqual(['beta']);
    expect(body.org).toBeUndefined();
  });

  it('refuses a malformed week', async () => {
    const { status, body } = await get('org-admin', '?week=2026-47');
    expect(status).toBe(400);
    expect(body.error?.code).toBe('invalid_request_error');
  });
});
