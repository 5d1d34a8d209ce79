/** The console's page shell: navigation by role, the stylesheet and the one script, all from this host. */
import { escapeHtml as h } from '../../domain/reports/format';
import { authorize, type Principal } from '../../domain/rbac';
import type { ConsoleSession, Flash } from './sessions';

export interface Shell {
  title: string;
  /** the JSON endpoint the script polls for this page's live sections */
  live?: string;
  /** a link to the Temporal Web UI for what the page shows */
  temporal?: string | null;
}

function nav(principal: Principal): string {
  const links: [string, string][] = [];
  if (authorize(principal, 'org_usage.read').allowed) links.push(['/console/overview', 'Overview']);
  if (principal.team !== null)
    links.push([`/console/teams/${encodeURIComponent(principal.team)}`, 'My team']);
  links.push(['/console/batches', 'Batches']);
  if (authorize(principal, 'rotations.manage').allowed) links.push(['/console/rotations', 'Rotations']);
  links.push(['/console/reports', 'Weekly reports']);
  return links.map(([href, label]) => `<a href="${href}">${h(label)}</a>`).join('');
}

export function who(principal: Principal): string {
  return principal.team === null ? `${principal.role} (org)` : `${principal.role} of ${principal.team}`;
}

function flashHtml(flash: Flash | undefined): string {
  if (!flash) return '';
  const secret = flash.secret
    ? `<p>Copy it now, it is not shown again:</p><pre class="secret" data-testid="new-key">${h(flash.secret)}</pre>`
    : '';
  return `<div class="flash ${flash.kind}" role="status">${h(flash.text)}${secret}</div>`;
}

export function page(session: ConsoleSession, shell: Shell, body: string): string {
  const flash = session.flash;
  delete session.flash;
  const temporal = shell.temporal
    ? `<a class="temporal" href="${h(shell.temporal)}" rel="noreferrer">Temporal Web UI</a>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${h(session.csrf)}">
<title>${h(shell.title)} · Groq Governor</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script></head>
<body${shell.live ? ` data-live="${h(shell.live)}"` : ''}>
<header><strong>Groq Governor</strong><nav>${nav(session.principal)}</nav>
<span class="who">${h(who(session.principal))}</span>
<form method="post" action="/console/sign-out"><input type="hidden" name="_csrf" value="${h(session.csrf)}"><button>Sign out</button></form></header>
<main><div class="title"><h1>${h(shell.title)}</h1>${temporal}</div>${flashHtml(flash)}${body}</main>
</body></html>`;
}

/** A POST form with the session's CSRF token. */
export function actionForm(session: ConsoleSession, action: string, label: string, extra = ''): string {
  return `<form method="post" action="${h(action)}" class="inline"><input type="hidden" name="_csrf" value="${h(session.csrf)}">${extra}<button>${h(label)}</button></form>`;
}

/** A section whose content the script refreshes from the page's live endpoint. */
export function live(id: string, content: string): string {
  return `<div data-live-id="${h(id)}">${content}</div>`;
}

export function bare(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${h(title)} · Groq Governor</title>
<link rel="stylesheet" href="/console/assets/console.css"></head>
<body><main class="narrow"><h1>${h(title)}</h1>${body}</main></body></html>`;
}
