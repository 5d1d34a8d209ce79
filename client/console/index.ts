/**
 * The admin console at /console/: server-rendered pages, one small script (live refresh) and one
 * stylesheet, all served by the gateway itself; nothing loads from anywhere else (a strict CSP says so).
 *
 *   GET  /console/sign-in, POST /console/sign-in {key}     exchange a gateway key for a session cookie
 *   POST /console/sign-out
 *   GET  /console/overview                                 org-admins, org-level viewers
 *   GET  /console/teams/{team}                             who may read the team's usage
 *   POST /console/teams/{team}/keys, /console/keys/{id}/revoke
 *   GET  /console/batches, /console/batches/{id}/output|errors
 *   POST /console/batches/{id}/pause|resume|cancel
 *   GET  /console/rotations, POST /console/rotations/{name}/approve|abort|skip-monitor
 *   GET  /console/reports?week=W, /console/reports/{week}/report.html
 *   GET  /console/api/overview|teams/{team}|batches|rotations   the live sections as JSON
 *
 * Every POST needs the session's CSRF token (`_csrf`) and a same-origin `Origin`; what a key may see
 * and do is decided on the server by the admin API's role table.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorize } from '../../domain/rbac';
import { escapeHtml as h } from '../../domain/reports/format';
import { BatchStore } from '../../ledger/batches';
import { BodyTooLargeError, decodeSegment } from '../gateway/http';
import { mayRead } from '../gateway/batches';
import type { GatewayDeps } from '../gateway/deps';
import { createKey, controlBatch, revoke, rotationAction, type Outcome } from './actions';
import { asset } from './assets';
import { uiLinksOf, type ConsoleContext } from './context';
import { cookies, readForm, redirect, sameOrigin, sendConsoleJson, sendHtml, REPORT_CSP } from './http';
import { bare, page } from './layout';
import { batchesPage, batchesSections } from './pages/batches';
import { overviewPage, overviewSections } from './pages/overview';
import { reportHtml, reportsPage, weekOf } from './pages/reports';
import { rotationsPage, rotationsSections } from './pages/rotations';
import { teamPage, teamSections } from './pages/team';
import { signInPage } from './pages/sign-in';
import { COOKIE, csrfMatches, SESSION_TTL_MS, SessionStore, type ConsoleSession } from './sessions';

const CONSOLE_ROLES = new Set(['org-admin', 'team-admin', 'viewer']);
const stores = new WeakMap<GatewayDeps, SessionStore>();

function sessionsOf(deps: GatewayDeps): SessionStore {
  let store = stores.get(deps);
  if (!store) {
    store = new SessionStore();
    stores.set(deps, store);
  }
  return store;
}

function cookie(id: string, maxAgeSeconds: number): string {
  return `${COOKIE}=${id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
}

function problem(
  response: ServerResponse,
  status: number,
  message: string,
  back = '/console/',
  session?: ConsoleSession,
): void {
  const title = status === 403 ? 'Not allowed' : 'Something is wrong';
  const body = `<p class="flash error" data-status="${status}">${h(message)}</p><p><a href="${h(back)}">Back</a></p>`;
  sendHtml(response, status, session ? page(session, { title }, body) : bare(title, body));
}

async function signIn(deps: GatewayDeps, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (!sameOrigin(request)) return problem(response, 403, 'Cross-site sign-in refused.', '/console/sign-in');
  const form = (await readForm(request, 4096)) ?? {};
  const result = await deps.authenticator.authenticate(form.key?.trim() ?? '');
  if (!result.ok) return sendHtml(response, 401, signInPage(result.message));
  if (!CONSOLE_ROLES.has(result.principal.role))
    return sendHtml(response, 403, signInPage('The console is for org-admin, team-admin and viewer keys.'));
  const { id } = sessionsOf(deps).create(form.key!.trim(), result.principal);
  deps.log.info('console sign-in', { keyId: result.principal.keyId, role: result.principal.role });
  redirect(response, '/console/', { 'set-cookie': cookie(id, SESSION_TTL_MS / 1000) });
}

/** The signed-in session, its key re-checked (a revoked or expired key has no session). */
async function sessionOf(
  deps: GatewayDeps,
  request: IncomingMessage,
): Promise<{ id: string; session: ConsoleSession } | undefined> {
  const id = cookies(request)[COOKIE];
  const session = sessionsOf(deps).get(id);
  if (!id || !session) return undefined;
  const check = await deps.authenticator.authenticate(session.key);
  if (!check.ok) {
    sessionsOf(deps).drop(id);
    return undefined;
  }
  session.principal = check.principal;
  return { id, session };
}

function finish(ctx: ConsoleContext, response: ServerResponse, outcome: Outcome): void {
  if (outcome.ok) return redirect(response, outcome.location);
  problem(response, outcome.status, outcome.message, '/console/', ctx.session);
}

async function download(ctx: ConsoleContext, response: ServerResponse, batchId: string, which: string) {
  const store = new BatchStore(ctx.deps.ledger.sql);
  const batch = await store.getBatch(batchId);
  if (!batch || !mayRead(ctx.principal, batch))
    return problem(response, 404, 'No such batch.', '/console/', ctx.session);
  const fileId = which === 'output' ? batch.outputFileId : batch.errorFileId;
  const file = fileId ? await store.getFile(fileId) : null;
  if (!file)
    return problem(response, 404, `Batch ${batchId} has no ${which} file yet.`, '/console/', ctx.session);
  response.writeHead(200, {
    'content-type': 'application/jsonl',
    'content-disposition': `attachment; filename="${batch.id}-${which}.jsonl"`,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  });
  for await (const line of store.resultLines(file)) {
    if (!response.write(line + '\n')) await new Promise((resolve) => response.once('drain', resolve));
  }
  response.end();
}

async function get(ctx: ConsoleContext, response: ServerResponse, path: string): Promise<void> {
  const { principal } = ctx;
  const api = path.startsWith('/console/api/');
  const sections = (value: Record<string, string>) => sendConsoleJson(response, 200, { sections: value });
  const denied = (reason: string) =>
    api
      ? sendConsoleJson(response, 403, { error: { message: reason, code: 'permission_denied' } })
      : problem(response, 403, reason, '/console/', ctx.session);
  const route = api ? path.replace('/console/api/', '/console/') : path;

  if (route === '/console/' || route === '/console') {
    const home = authorize(principal, 'org_usage.read').allowed
      ? '/console/overview'
      : principal.team !== null
        ? `/console/teams/${encodeURIComponent(principal.team)}`
        : '/console/batches';
    return redirect(response, home);
  }
  if (route === '/console/overview') {
    const decision = authorize(principal, 'org_usage.read');
    if (!decision.allowed) return denied(decision.reason);
    return api ? sections(await overviewSections(ctx)) : sendHtml(response, 200, await overviewPage(ctx));
  }
  const team = /^\/console\/teams\/([^/]+)$/.exec(route);
  if (team) {
    const name = decodeSegment(team[1]!);
    if (name === undefined || !ctx.deps.config().teams.has(name))
      return problem(response, 404, 'No such team.', '/console/', ctx.session);
    const decision = authorize(principal, 'usage.read', { team: name });
    if (!decision.allowed) return denied(decision.reason);
    return api ? sections(await teamSections(ctx, name)) : sendHtml(response, 200, await teamPage(ctx, name));
  }
  if (route === '/console/batches')
    return api ? sections(await batchesSections(ctx)) : sendHtml(response, 200, await batchesPage(ctx));
  const file = /^\/console\/batches\/([^/]+)\/(output|errors)$/.exec(path);
  if (file) return download(ctx, response, decodeSegment(file[1]!) ?? '', file[2]!);
  if (route === '/console/rotations') {
    const decision = authorize(principal, 'rotations.manage');
    if (!decision.allowed) return denied(decision.reason);
    return api ? sections(await rotationsSections(ctx)) : sendHtml(response, 200, await rotationsPage(ctx));
  }
  if (path === '/console/reports') {
    const week = weekOf(ctx);
    if (!week) return problem(response, 400, 'week must look like 2026-W47', '/console/reports', ctx.session);
    return sendHtml(response, 200, reportsPage(ctx, week));
  }
  const report = /^\/console\/reports\/(\d{4}-W\d{2})\/report\.html$/.exec(path);
  if (report) {
    const result = await reportHtml(ctx, report[1]!);
    if ('denied' in result) return problem(response, 403, result.denied, '/console/', ctx.session);
    return sendHtml(response, 200, result.html, {}, REPORT_CSP);
  }
  return problem(response, 404, `Nothing at ${path}.`, '/console/', ctx.session);
}

async function post(ctx: ConsoleContext, request: IncomingMessage, response: ServerResponse, path: string) {
  const form = await readForm(request, ctx.deps.config().gateway.maxBodyBytes);
  if (!form || !sameOrigin(request) || !csrfMatches(ctx.session, form._csrf))
    return problem(
      response,
      403,
      'The form is stale or came from another site; reload the page and try again.',
      '/console/',
      ctx.session,
    );
  const keys = /^\/console\/teams\/([^/]+)\/keys$/.exec(path);
  if (keys) return finish(ctx, response, await createKey(ctx, decodeSegment(keys[1]!) ?? '', form));
  const revocation = /^\/console\/keys\/([^/]+)\/revoke$/.exec(path);
  if (revocation) return finish(ctx, response, await revoke(ctx, decodeSegment(revocation[1]!) ?? ''));
  const batch = /^\/console\/batches\/([^/]+)\/(pause|resume|cancel)$/.exec(path);
  if (batch)
    return finish(
      ctx,
      response,
      await controlBatch(
        ctx,
        decodeSegment(batch[1]!) ?? '',
        batch[2] as 'pause' | 'resume' | 'cancel',
        form.back,
      ),
    );
  const rotation = /^\/console\/rotations\/([^/]+)\/(approve|abort|skip-monitor)$/.exec(path);
  if (rotation)
    return finish(
      ctx,
      response,
      await rotationAction(
        ctx,
        decodeSegment(rotation[1]!) ?? '',
        rotation[2] as 'approve' | 'abort' | 'skip-monitor',
        form.reason,
      ),
    );
  return problem(response, 404, `Nothing to post at ${path}.`, '/console/', ctx.session);
}

/** Answers every request under /console. */
export async function handleConsole(
  deps: GatewayDeps,
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
): Promise<void> {
  const method = request.method ?? 'GET';
  try {
    if (path.startsWith('/console/assets/') && method === 'GET') return asset(response, path);
    if (path === '/console/sign-in') {
      if (method === 'POST') return await signIn(deps, request, response);
      return sendHtml(response, 200, signInPage());
    }
    const signedIn = await sessionOf(deps, request);
    if (path === '/console/sign-out' && method === 'POST') {
      if (signedIn) {
        const form = await readForm(request, 4096);
        if (!form || !csrfMatches(signedIn.session, form._csrf)) return problem(response, 403, 'Stale form.');
        sessionsOf(deps).drop(signedIn.id);
      }
      return redirect(response, '/console/sign-in', { 'set-cookie': cookie('', 0) });
    }
    if (!signedIn) {
      if (method === 'GET' && !path.startsWith('/console/api/'))
        return redirect(response, '/console/sign-in');
      return sendConsoleJson(response, 401, {
        error: { message: 'Sign in first.', code: 'invalid_api_key' },
      });
    }
    const ctx: ConsoleContext = {
      deps,
      session: signedIn.session,
      principal: signedIn.session.principal,
      url: new URL(request.url ?? '/', 'http://console'),
      ui: uiLinksOf(deps.temporal),
      now: new Date(),
    };
    if (method === 'GET') return await get(ctx, response, path);
    if (method === 'POST') return await post(ctx, request, response, path);
    return problem(response, 405, `${method} is not supported here.`);
  } catch (error) {
    if (error instanceof BodyTooLargeError) return problem(response, 413, 'The form is too large.');
    throw error;
  }
}
