// The admin console in headless Chromium (Debian's `chromium`, driven by playwright-core): an org-admin,
// a team-admin and a team viewer sign in with their gateway keys and see what the admin API's role
// table lets them; a key is created and revoked and a batch paused and resumed through the pages (both
// audited under the signed-in key); a viewer's revoke and pause are refused by the server; the
// overview's figures equal /admin/usage and the ledger to the nano-dollar and refresh without a reload;
// every request a console page makes goes to the gateway's own host. Screenshots of each page go to
// test-artifacts/console/.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq from 'groq-sdk';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatUsd } from '../../../domain/money';
import { periodOf } from '../../../ledger';
import { BatchStore } from '../../../ledger/batches';
import { rotationHandle } from '../../../client/services/rotation';
import { addUpstreamKeyVersion } from '../../../client/services/upstream-key-versions';
import type { KeyRotationResult } from '../../../workflows/key-rotation-messages';
import { batchWorkflowId, progressQuery } from '../../../workflows/batch-job-messages';
import { chromiumOrSkip, launchChromium } from '../../support/browser';
import {
  startCompletionStack,
  TEST_CONFIG,
  testConfig,
  type CompletionStack,
} from '../../support/completion-stack';
import { KEY, rotationParts } from '../../support/rotation-stack';
import { devServerEnv } from '../../support/temporal';
import { jsonl, upload, waitForBatch } from '../batches/support';

const ARTIFACTS = resolve('test-artifacts/console');
const chromium = chromiumOrSkip('the admin console browser test');
// small budgets so the bars show: alpha's batch uses a visible share, beta's three calls cross 50%
const CONFIG = `${TEST_CONFIG.replace("monthlyBudgetUsd: '10'", "monthlyBudgetUsd: '0.003'").replace(
  "monthlyBudgetUsd: '0.0005'",
  "monthlyBudgetUsd: '0.000006'",
)}gateway:\n  batchWindow: 4\n`;

type Usage = {
  spend: { committed: { nanos: string } };
  by_model: { key: string; cost: { nanos: string } }[];
};

describe.skipIf(!chromium)('the admin console in headless Chromium', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let browser: Browser;
  let base: string;
  let period: string;
  const keys: Record<string, { key: string; id: string }> = {};
  /** every URL any console page asked for, across all sessions */
  const requested: string[] = [];

  async function chat(key: string, model: string, text: string, maxTokens = 32) {
    const groq = new Groq({ baseURL: base, apiKey: key, maxRetries: 0 });
    return groq.chat.completions
      .create({ model, messages: [{ role: 'user', content: text }], max_completion_tokens: maxTokens })
      .then(
        () => 'ok',
        (error: { status?: number }) => error.status,
      );
  }

  async function usage(team?: string): Promise<Usage> {
    const response = await fetch(`${base}/admin/usage?period=${period}${team ? `&team=${team}` : ''}`, {
      headers: { authorization: `Bearer ${keys.orgAdmin!.key}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Usage;
  }

  async function ledgerSum(team?: string): Promise<string> {
    const { rows } = await stack.ledger.sql.query(
      `SELECT COALESCE(SUM(cost_nanos), 0) AS n FROM usage_records WHERE period = $1 ${team ? 'AND team = $2' : ''}`,
      team ? [period, team] : [period],
    );
    return String(rows[0]!.n);
  }

  async function signIn(key: string, landing: RegExp): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.on('request', (request) => requested.push(request.url()));
    const page = await context.newPage();
    await page.goto(`${base}/console/`);
    expect(page.url()).toBe(`${base}/console/sign-in`);
    await page.fill('input[name=key]', key);
    await Promise.all([page.waitForURL(landing), page.click('form.sign-in button')]);
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({
      name: 'gg_console',
      httpOnly: true,
      sameSite: 'Strict',
      path: '/console',
    });
    expect(cookies[0]!.value).not.toContain(key.slice(4, 16));
    return page;
  }

  /** A POST made by the page's own script (as a curious user could), with or without its CSRF token. */
  function postFromPage(
    page: Page,
    path: string,
    fields: Record<string, string>,
    csrf = true,
  ): Promise<number> {
    return page.evaluate(`(async () => {
      const token = document.querySelector('meta[name=csrf-token]').getAttribute('content');
      const body = new URLSearchParams(Object.assign(${csrf ? '{ _csrf: token }' : '{}'}, ${JSON.stringify(fields)}));
      const response = await fetch(${JSON.stringify(path)}, { method: 'POST', body, redirect: 'manual' });
      return response.status;
    })()`) as Promise<number>;
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const nanos = (page: Page, selector: string) => page.locator(selector).first().getAttribute('data-nanos');

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    env = await devServerEnv();
    stack = await startCompletionStack(env, {
      gateway: true,
      config: testConfig(CONFIG),
      rotation: async (ledger, emulator) => {
        const parts = await rotationParts(ledger, emulator);
        // beta's key joins the versioned store too, so both teams call through one resolver
        await addUpstreamKeyVersion({
          ledger,
          store: parts.store,
          keyName: 'beta-test-gateway',
          secret: emulator.addedKeys['beta-test-gateway']!,
          actor: 'test',
        });
        return { resolver: parts.resolver, rotation: parts.rotation };
      },
    });
    base = stack.gateway!.url;
    period = periodOf(new Date(), 'UTC');
    keys.orgAdmin = await stack.issue(null, 'org-admin');
    keys.teamAdmin = await stack.issue('alpha', 'team-admin');
    keys.viewer = await stack.issue('alpha', 'viewer');
    keys.alpha = await stack.issue('alpha', 'member');
    keys.beta = await stack.issue('beta', 'member');
    keys.victim = await stack.issue('alpha', 'member');
    // spend on two teams and two models, and refusals: a model alpha may not use, beta's tiny budget
    for (let i = 0; i < 3; i++)
      expect(await chat(keys.alpha.key, 'llama-3.1-8b-instant', `hello ${i}`)).toBe('ok');
    for (let i = 0; i < 3; i++) expect(await chat(keys.beta.key, 'llama-3.1-8b-instant', 'hi', 8)).toBe('ok');
    expect(await chat(keys.alpha.key, 'llama-3.3-70b-versatile', 'not mine')).toBe(403);
    expect(await chat(keys.beta.key, 'llama-3.3-70b-versatile', 'too dear', 1024)).toBe(402);
    browser = await launchChromium(chromium!);
  });

  afterAll(async () => {
    await rotationHandle(stack.client, KEY)
      .terminate('test over')
      .catch(() => undefined);
    await browser?.close();
    await stack?.close();
    await env?.teardown();
  });

  it('refuses member keys and unknown keys at sign-in, and pages without a session', async () => {
    const context = await browser.newContext();
    context.on('request', (request) => requested.push(request.url()));
    const page = await context.newPage();
    expect((await page.goto(`${base}/console/overview`))!.url()).toBe(`${base}/console/sign-in`);
    await shot(page, 'sign-in');
    await page.fill('input[name=key]', keys.alpha!.key);
    const member = await Promise.all([page.waitForResponse(/sign-in/), page.click('form.sign-in button')]);
    expect(member[0].status()).toBe(403);
    await page.fill('input[name=key]', `${keys.alpha!.key.slice(0, -1)}x`);
    const forged = await Promise.all([page.waitForResponse(/sign-in/), page.click('form.sign-in button')]);
    expect(forged[0].status()).toBe(401);
    expect(await context.cookies()).toHaveLength(0);
    const api = await fetch(`${base}/console/api/overview`);
    expect(api.status).toBe(401);
    await context.close();
  });

  it('org-admin: the overview equals /admin/usage and the ledger to the nano-dollar, and refreshes live', async () => {
    const page = await signIn(keys.orgAdmin!.key, /\/console\/overview$/);
    const [org, alpha, beta] = await Promise.all([usage(), usage('alpha'), usage('beta')]);
    expect(BigInt(alpha.spend.committed.nanos)).toBeGreaterThan(0n);
    expect(BigInt(beta.spend.committed.nanos)).toBeGreaterThan(0n);
    for (const [team, api] of [
      ['alpha', alpha],
      ['beta', beta],
    ] as const) {
      const shown = await nanos(page, `tr[data-team="${team}"] td.spent`);
      expect(shown).toBe(api.spend.committed.nanos);
      expect(shown).toBe(await ledgerSum(team));
      const expected = (BigInt(shown!) * BigInt(daysInMonth())) / BigInt(new Date().getUTCDate());
      expect(await nanos(page, `tr[data-team="${team}"] td.projected`)).toBe(expected.toString());
    }
    expect(await nanos(page, '[data-figure="org-spent"]')).toBe(org.spend.committed.nanos);
    expect(await nanos(page, '[data-figure="org-spent"]')).toBe(await ledgerSum());
    expect(BigInt(org.spend.committed.nanos)).toBe(
      BigInt(alpha.spend.committed.nanos) + BigInt(beta.spend.committed.nanos),
    );
    expect(org.by_model.length).toBeGreaterThan(0);
    for (const row of org.by_model) {
      expect(await nanos(page, `tr[data-model="${row.key}"] td.spent`)).toBe(row.cost.nanos);
    }
    // the beta budget refusal paused nothing, alpha's refused model is counted on its page below
    await shot(page, 'overview');

    // a new call shows up without a reload (the page polls its JSON endpoint)
    const before = await nanos(page, '[data-figure="org-spent"]');
    const marker = await page.evaluate('performance.timeOrigin');
    expect(await chat(keys.alpha!.key, 'llama-3.1-8b-instant', 'one more')).toBe('ok');
    const after = (await usage()).spend.committed.nanos;
    expect(BigInt(after)).toBeGreaterThan(BigInt(before!));
    await page.waitForSelector(`[data-figure="org-spent"][data-nanos="${after}"]`, { timeout: 30_000 });
    expect(await page.evaluate('performance.timeOrigin')).toBe(marker);
    expect(await nanos(page, '[data-figure="org-spent"]')).toBe(await ledgerSum());

    // every page an org-admin has
    await page.goto(`${base}/console/teams/beta`);
    expect(await page.locator('h1').textContent()).toBe('Team beta');
    await shot(page, 'team-beta-as-org-admin');
    await page.goto(`${base}/console/rotations`);
    expect(await page.locator('tr[data-rotation]').count()).toBe(2);
    expect(await page.locator('tr[data-rotation="alpha-test-gateway"]').textContent()).toContain(
      'no rotation',
    );
    await shot(page, 'rotations');
    await page.goto(`${base}/console/reports`);
    const frame = page.frameLocator('iframe.report');
    await expect(frame.locator('h1').textContent()).resolves.toContain('Groq usage, week');
    await shot(page, 'reports');
  });

  it('team-admin: its team only; creates and revokes a key, audited under its key', async () => {
    const page = await signIn(keys.teamAdmin!.key, /\/console\/teams\/alpha$/);
    expect(await page.locator('[data-reason="model_not_allowed"]').count()).toBe(1);
    expect(await nanos(page, '[data-figure="team-spent"]')).toBe(await ledgerSum('alpha'));
    // only member and viewer keys may be issued by a team-admin; the server says the same
    expect(await page.locator('form.create select[name=role] option').allTextContents()).toEqual([
      'member',
      'viewer',
    ]);
    expect(
      await postFromPage(page, '/console/teams/alpha/keys', { role: 'team-admin', name: 'sneaky' }),
    ).toBe(403);
    expect(await postFromPage(page, '/console/teams/beta/keys', { role: 'member', name: 'other-team' })).toBe(
      403,
    );
    for (const path of ['/console/overview', '/console/teams/beta', '/console/rotations']) {
      expect((await page.goto(`${base}${path}`))!.status()).toBe(403);
    }
    await page.goto(`${base}/console/teams/alpha`);
    expect(await page.locator('nav a').allTextContents()).toEqual(['My team', 'Batches', 'Weekly reports']);
    await page.fill('form.create input[name=name]', 'console-made');
    await page.selectOption('form.create select[name=role]', 'member');
    await Promise.all([page.waitForURL(/\/console\/teams\/alpha$/), page.click('form.create button')]);
    const created = (await page.textContent('[data-testid="new-key"]'))!.trim();
    expect(created).toMatch(/^ggk_/);
    await shot(page, 'team-alpha-key-created');
    const record = (await stack.ledger.listGatewayKeys({ team: 'alpha' })).find(
      (k) => k.name === 'console-made',
    )!;
    expect(record.role).toBe('member');
    const models = (key: string) =>
      fetch(`${base}/openai/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect((await models(created)).status).toBe(200);
    const issued = await stack.ledger.listAudit({ action: 'keys.issue', target: `gateway_key:${record.id}` });
    expect(issued.map((entry) => entry.actor)).toEqual([`key:${keys.teamAdmin!.id}`]);
    // shown once
    await page.reload();
    expect(await page.locator('[data-testid="new-key"]').count()).toBe(0);

    await Promise.all([
      page.waitForURL(/\/console\/teams\/alpha$/),
      page.click(`tr[data-key="${record.id}"] button:has-text("Revoke")`),
    ]);
    expect(await page.locator(`tr[data-key="${record.id}"]`).count()).toBe(0);
    expect((await models(created)).status).toBe(401);
    const revoked = await stack.ledger.listAudit({
      action: 'keys.revoke',
      target: `gateway_key:${record.id}`,
    });
    expect(revoked.map((entry) => entry.actor)).toEqual([`key:${keys.teamAdmin!.id}`]);
    // a POST without the session's CSRF token changes nothing
    expect(await postFromPage(page, `/console/keys/${keys.victim!.id}/revoke`, {}, false)).toBe(403);
    // a POST with the token but from another site is refused too
    const token = await page.getAttribute('meta[name=csrf-token]', 'content');
    const crossSite = await page.request.post(`${base}/console/keys/${keys.victim!.id}/revoke`, {
      form: { _csrf: token! },
      headers: { origin: 'http://evil.example' },
      maxRedirects: 0,
    });
    expect(crossSite.status()).toBe(403);
    expect((await stack.ledger.getGatewayKey(keys.victim!.id))!.revokedAt).toBeNull();
    await shot(page, 'team-alpha');

    // its weekly report is its own team's part only, as GET /admin/reports answers a team-admin
    await page.goto(`${base}/console/reports`);
    const report = page.frameLocator('iframe.report');
    await expect(report.locator('h1').textContent()).resolves.toContain('Groq usage, week');
    const text = (await report.locator('body').textContent())!;
    expect(text).toContain('alpha');
    expect(text).not.toContain('beta');
  });

  it('a batch is paused and resumed from the console; a viewer sees it but is refused on the server', async () => {
    const groq = new Groq({ baseURL: base, apiKey: keys.alpha!.key, maxRetries: 0 });
    stack.emulator.setLatency({ latencyMs: 250 });
    let batchId = '';
    try {
      const file = await upload(groq, jsonl(200, 'console'));
      const batch = await groq.batches.create({
        input_file_id: file.id!,
        endpoint: '/v1/chat/completions',
        completion_window: '1h',
      });
      batchId = batch.id;
      const handle = stack.client.workflow.getHandle(batchWorkflowId(batch.id));
      const admin = await signIn(keys.teamAdmin!.key, /\/console\/teams\/alpha$/);
      await admin.goto(`${base}/console/batches`);
      const row = `tr[data-batch="${batch.id}"]`;
      await Promise.all([
        admin.waitForURL(/\/console\/batches$/),
        admin.click(`${row} button:has-text("Pause")`),
      ]);
      expect((await new BatchStore(stack.ledger.sql).getBatch(batch.id))!.paused).toBe(true);
      expect((await handle.query(progressQuery)).paused).toBe(true);
      expect(await admin.locator(`${row} .status`).textContent()).toContain('paused');
      await shot(admin, 'batches-paused');

      // the viewer of the team sees the batch and no control; its forged POSTs are refused by the server
      const viewer = await signIn(keys.viewer!.key, /\/console\/teams\/alpha$/);
      expect(await viewer.locator(row).count()).toBe(1);
      expect(await viewer.locator(`${row} button`).count()).toBe(0);
      expect(await viewer.locator('form.create').count()).toBe(0);
      expect(await viewer.locator('tr[data-key]').count()).toBe(0);
      expect(await postFromPage(viewer, `/console/batches/${batch.id}/resume`, {})).toBe(403);
      expect(await postFromPage(viewer, `/console/keys/${keys.victim!.id}/revoke`, {})).toBe(403);
      expect((await stack.ledger.getGatewayKey(keys.victim!.id))!.revokedAt).toBeNull();
      const denied = await stack.ledger.listAudit({
        action: 'keys.revoke.denied',
        actor: `key:${keys.viewer!.id}`,
      });
      expect(denied).toHaveLength(1);
      expect((await handle.query(progressQuery)).paused).toBe(true);
      for (const path of ['/console/overview', '/console/rotations', '/console/teams/beta']) {
        expect((await viewer.goto(`${base}${path}`))!.status()).toBe(403);
      }
      await viewer.goto(`${base}/console/teams/alpha`);
      await shot(viewer, 'team-alpha-as-viewer');

      stack.emulator.setLatency({ latencyMs: 0 });
      await Promise.all([
        admin.waitForURL(/\/console\/batches$/),
        admin.click(`${row} button:has-text("Resume")`),
      ]);
      expect((await handle.query(progressQuery)).paused).toBe(false);
      const done = await waitForBatch(groq, batch.id);
      expect(done.status).toBe('completed');
      expect(done.request_counts).toEqual({ total: 200, completed: 200, failed: 0 });
      // the live section shows the end without a reload, and the results download
      await admin.waitForSelector(`${row} .status:has-text("completed")`, { timeout: 30_000 });
      await admin.reload();
      const [download] = await Promise.all([
        admin.waitForEvent('download'),
        admin.click(`${row} a:has-text("results")`),
      ]);
      expect(download.suggestedFilename()).toBe(`${batch.id}-output.jsonl`);
      await shot(admin, 'batches');

      // after the batch the overview still equals the API and the ledger (the picture in the README)
      const overview = await signIn(keys.orgAdmin!.key, /\/console\/overview$/);
      const alpha = await usage('alpha');
      expect(await nanos(overview, 'tr[data-team="alpha"] td.spent')).toBe(alpha.spend.committed.nanos);
      expect(alpha.spend.committed.nanos).toBe(await ledgerSum('alpha'));
      expect(await nanos(overview, '[data-figure="org-spent"]')).toBe(await ledgerSum());
      expect(await overview.locator('tr[data-team="beta"] td').nth(6).textContent()).toBe('50%');
      // every call of this test was today: the last column of the 7-day chart is the ledger's total
      const today = new Date().toISOString().slice(0, 10);
      expect(await overview.locator('[data-live-id="days"] rect title').last().textContent()).toBe(
        `${today}: $${formatUsd(BigInt(await ledgerSum()))}`,
      );
      await overview.screenshot({
        path: join(ARTIFACTS, 'overview-after-batch.png'),
        clip: { x: 0, y: 0, width: 1280, height: 720 },
      });
    } finally {
      stack.emulator.setLatency({ latencyMs: 0 });
      if (batchId) await groq.batches.cancel(batchId).catch(() => undefined);
    }
  });

  it('org-admin: a rotation is approved and aborted from the rotations page, audited under its key', async () => {
    const start = await fetch(`${base}/admin/rotations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.orgAdmin!.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        key_name: KEY,
        monitor_window: '1h',
        check_interval: '1s',
        require_approval: true,
      }),
    });
    expect(start.status).toBe(201);
    const page = await signIn(keys.orgAdmin!.key, /\/console\/overview$/);
    await page.goto(`${base}/console/rotations`);
    const row = `tr[data-rotation="${KEY}"]`;
    // the page's live section follows the workflow to the approval gate without a reload
    await page.waitForSelector(`${row} .status:has-text("awaiting-approval")`, { timeout: 60_000 });
    await Promise.all([
      page.waitForURL(/\/console\/rotations$/),
      page.click(`${row} button:has-text("Approve")`),
    ]);
    await page.waitForSelector(`${row} .status:has-text("monitoring")`, { timeout: 60_000 });
    expect(await page.locator(`${row} td`).nth(2).textContent()).toMatch(/^\d+m \d+s$|^\d+h \d+m$/);
    expect(await page.locator(`${row} a:has-text("workflow")`).getAttribute('href')).toContain(
      encodeURIComponent(`key-rotation:${KEY}`),
    );
    await shot(page, 'rotations-monitoring');
    await Promise.all([
      page.waitForURL(/\/console\/rotations$/),
      page.click(`${row} button:has-text("Abort")`),
    ]);
    const result: KeyRotationResult = await rotationHandle(stack.client, KEY).result();
    expect(result.outcome).toBe('aborted');
    const audit = await stack.ledger.listAudit({ target: `rotation:${KEY}` });
    expect(audit.find((e) => e.action === 'rotation.approved')?.actor).toBe(`key:${keys.orgAdmin!.id}`);
    expect(audit.find((e) => e.action === 'rotation.abort-requested')?.actor).toBe(
      `key:${keys.orgAdmin!.id}`,
    );
    await page.reload();
    expect(await page.locator(`${row} td`).nth(1).textContent()).toMatch(/^aborted/);
  });

  it('no console page asked for anything outside the gateway host', () => {
    const origin = new URL(base).origin;
    expect(requested.length).toBeGreaterThan(20);
    const outside = requested.filter((url) => new URL(url).origin !== origin);
    expect(outside).toEqual([]);
    // the stylesheet, the script and the live endpoints were among them
    expect(requested).toContain(`${origin}/console/assets/console.css`);
    expect(requested).toContain(`${origin}/console/assets/console.js`);
    expect(requested).toContain(`${origin}/console/api/overview`);
  });
});

function daysInMonth(): number {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate();
}
