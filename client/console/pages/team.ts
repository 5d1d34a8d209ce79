/**
 * A team's page (`usage.read` on the team): its budget bar, top models, refusals by reason, its keys
 * with create and revoke (who may list and issue keys for it) and its batches.
 */
import { ROLES, authorize, type Role } from '../../../domain/rbac';
import { count, escapeHtml as h, percent, usd } from '../../../domain/reports/format';
import { listKeys } from '../../services/gateway-keys';
import { budgetBar, barList } from '../charts';
import type { ConsoleContext } from '../context';
import { monthClock, teamFigures } from '../figures';
import { actionForm, live, page } from '../layout';
import { batchTable, visibleBatches } from './batches';

async function budgetSection(ctx: ConsoleContext, team: string): Promise<string> {
  const clock = monthClock(ctx.now, ctx.deps.config().org.timezone);
  const f = await teamFigures(ctx.deps.ledger, ctx.deps.config(), team, clock);
  const fig = (label: string, id: string, nanos: bigint) =>
    `<div class="card"><span>${h(label)}</span><strong data-figure="${id}" data-nanos="${nanos}">${usd(nanos)}</strong></div>`;
  return `<div class="cards">${fig(`Spent in ${clock.period}`, 'team-spent', f.committedNanos)}${
    f.budgetNanos === null ? '' : fig('Monthly budget', 'team-budget', f.budgetNanos)
  }${fig('Projected month end', 'team-projected', f.projectedNanos)}${fig('Held in flight', 'team-held', f.heldNanos)}</div>
${budgetBar(f.committedNanos, f.budgetNanos, f.projectedNanos, `${team} budget`)}
<p>Used: <b>${percent(f.usedBasisPoints)}</b>. Alerts crossed: <b>${
    f.alerts.length ? f.alerts.map((a) => `${a}%`).join(', ') : 'none'
  }</b>. State: <b data-figure="team-state">${f.paused ? h(f.paused) : 'active'}</b>.</p>`;
}

async function modelsSection(ctx: ConsoleContext, team: string): Promise<string> {
  const period = monthClock(ctx.now, ctx.deps.config().org.timezone).period;
  const [models, refusals] = await Promise.all([
    ctx.deps.ledger.usageTotalsByModel({ period, team }),
    ctx.deps.ledger.refusalCounts({ period, team }),
  ]);
  const top = [...models]
    .sort((a, b) => (b.costNanos > a.costNanos ? 1 : b.costNanos < a.costNanos ? -1 : 0))
    .slice(0, 5);
  const refusalRows = refusals
    .map((r) => `<tr data-reason="${h(r.reason)}"><td>${h(r.reason)}</td><td>${count(r.count)}</td></tr>`)
    .join('');
  return `<div class="columns"><section><h2>Top models in ${period}</h2>${barList(
    top.map((m) => ({ label: m.key ?? '?', nanos: m.costNanos })),
    'Spend per model (USD)',
  )}</section><section><h2>Refusals by reason</h2>${
    refusals.length === 0
      ? '<p class="empty">No refusals this month.</p>'
      : `<table class="refusals"><thead><tr><th>reason</th><th>count</th></tr></thead><tbody>${refusalRows}</tbody></table>`
  }</section></div>`;
}

/** Roles this principal may issue for the team (the admin API's table). */
function issuableRoles(ctx: ConsoleContext, team: string): Role[] {
  return ROLES.filter(
    (role) =>
      role !== 'org-admin' && authorize(ctx.principal, 'keys.issue', { team, role, models: [] }).allowed,
  );
}

async function keysSection(ctx: ConsoleContext, team: string): Promise<string> {
  if (!authorize(ctx.principal, 'keys.list', { team }).allowed) return '';
  const keys = await listKeys(ctx.deps.ledger, ctx.principal, { team });
  const rows = keys
    .map((key) => {
      const revoke = authorize(ctx.principal, 'keys.revoke', { team, role: key.role }).allowed
        ? actionForm(ctx.session, `/console/keys/${encodeURIComponent(key.id)}/revoke`, 'Revoke')
        : '';
      return `<tr data-key="${h(key.id)}"><td class="mono">${h(key.id)}</td><td>${h(key.name)}</td><td>${h(key.role)}</td><td>${
        key.expiresAt ? h(key.expiresAt.toISOString().slice(0, 16).replace('T', ' ')) : 'never'
      }</td><td>${key.lastUsedAt ? h(key.lastUsedAt.toISOString().slice(0, 16).replace('T', ' ')) : '-'}</td><td>${revoke}</td></tr>`;
    })
    .join('');
  const roles = issuableRoles(ctx, team);
  const create =
    roles.length === 0
      ? ''
      : `<form method="post" action="/console/teams/${encodeURIComponent(team)}/keys" class="create"><input type="hidden" name="_csrf" value="${h(ctx.session.csrf)}">
<label>Name <input name="name" maxlength="100" required></label>
<label>Role <select name="role">${roles.map((r) => `<option>${h(r)}</option>`).join('')}</select></label>
<label>Expires in <input name="expires_in" placeholder="30d"></label><button>Create key</button></form>`;
  return `<section><h2>Keys</h2><table class="keys"><thead><tr><th>id</th><th>name</th><th>role</th><th>expires</th><th>last used</th><th></th></tr></thead><tbody>${rows}</tbody></table>${create}</section>`;
}

export async function teamSections(ctx: ConsoleContext, team: string): Promise<Record<string, string>> {
  const [budget, models, batches] = await Promise.all([
    budgetSection(ctx, team),
    modelsSection(ctx, team),
    visibleBatches(ctx, team, 20).then((rows) => batchTable(ctx, rows)),
  ]);
  return { budget, models, batches };
}

export async function teamPage(ctx: ConsoleContext, team: string): Promise<string> {
  const [s, keys] = await Promise.all([teamSections(ctx, team), keysSection(ctx, team)]);
  return page(
    ctx.session,
    {
      title: `Team ${team}`,
      live: `/console/api/teams/${encodeURIComponent(team)}`,
      temporal: ctx.ui.workflows(),
    },
    `<section>${live('budget', s.budget!)}</section>${live('models', s.models!)}${keys}<section><h2>Batches</h2>${live(
      'batches',
      s.batches!,
    )}</section>`,
  );
}
