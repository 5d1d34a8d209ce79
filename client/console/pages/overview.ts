/**
 * The org overview (org-admins and org-level viewers, `org_usage.read`): month-to-date spend per team
 * against its budget, the projection to the month's end, alerts crossed, paused teams, spend per model
 * and the last seven days. Every amount carries its exact nano-dollars in `data-nanos`.
 */
import { escapeHtml as h, percent, usd } from '../../../domain/reports/format';
import { budgetBar, barList, dayColumns } from '../charts';
import type { ConsoleContext } from '../context';
import { overview, type SpendFigures, type TeamFigures } from '../figures';
import { live, page } from '../layout';

const money = (nanos: bigint, cls = '') =>
  `<td${cls ? ` class="${cls}"` : ''} data-nanos="${nanos}">${usd(nanos)}</td>`;

function alertsText(alerts: number[]): string {
  return alerts.length === 0 ? '-' : alerts.map((a) => `${a}%`).join(', ');
}

function teamRow(team: TeamFigures): string {
  const href = `/console/teams/${encodeURIComponent(team.team)}`;
  return `<tr data-team="${h(team.team)}"><td><a href="${href}">${h(team.team)}</a></td>${money(team.committedNanos, 'spent')}${
    team.budgetNanos === null ? '<td>-</td>' : money(team.budgetNanos, 'budget')
  }<td>${percent(team.usedBasisPoints)}</td>${money(team.projectedNanos, 'projected')}${money(team.heldNanos, 'held')}<td>${alertsText(team.alerts)}</td><td>${
    team.paused ? `<b class="tag bad">${h(team.paused)}</b>` : 'active'
  }</td><td class="wide">${budgetBar(team.committedNanos, team.budgetNanos, team.projectedNanos, `${team.team} budget`)}</td></tr>`;
}

function card(label: string, nanos: bigint, id: string): string {
  return `<div class="card"><span>${h(label)}</span><strong data-figure="${id}" data-nanos="${nanos}">${usd(nanos)}</strong></div>`;
}

function summary(org: SpendFigures, paused: TeamFigures[], period: string): string {
  return `<div class="cards">${card(`Spent in ${period}`, org.committedNanos, 'org-spent')}${card('Monthly cap', org.budgetNanos ?? 0n, 'org-cap')}${card(
    'Projected month end',
    org.projectedNanos,
    'org-projected',
  )}${card('Held in flight', org.heldNanos, 'org-held')}</div>
<p>Org alerts crossed: <b data-figure="org-alerts">${org.alerts.length ? alertsText(org.alerts) : 'none'}</b>. Paused teams: <b data-figure="paused">${
    paused.length === 0 ? 'none' : paused.map((t) => h(t.team)).join(', ')
  }</b>.</p>`;
}

export async function overviewSections(ctx: ConsoleContext): Promise<Record<string, string>> {
  const figures = await overview(ctx.deps.ledger, ctx.deps.config(), ctx.now);
  const models = [...figures.models].sort((a, b) =>
    b.costNanos > a.costNanos ? 1 : b.costNanos < a.costNanos ? -1 : 0,
  );
  return {
    summary: summary(
      figures.org,
      figures.teams.filter((t) => t.paused !== null),
      figures.period,
    ),
    teams: `<table class="teams"><thead><tr><th>team</th><th>spent</th><th>budget</th><th>used</th><th>projected</th><th>held</th><th>alerts</th><th>state</th><th>spend / budget / projection</th></tr></thead><tbody>${figures.teams
      .map(teamRow)
      .join('')}</tbody></table>`,
    models: `${barList(
      models.map((m) => ({ label: m.model, nanos: m.costNanos })),
      `Spend per model in ${figures.period} (USD)`,
    )}<table class="models"><thead><tr><th>model</th><th>attempts</th><th>spent</th></tr></thead><tbody>${models
      .map(
        (m) =>
          `<tr data-model="${h(m.model)}"><td>${h(m.model)}</td><td>${m.attempts}</td>${money(m.costNanos, 'spent')}</tr>`,
      )
      .join('')}</tbody></table>`,
    days: dayColumns(figures.days, `Spend per day, last 7 days (${ctx.deps.config().org.timezone})`),
  };
}

export async function overviewPage(ctx: ConsoleContext): Promise<string> {
  const s = await overviewSections(ctx);
  return page(
    ctx.session,
    {
      title: `${ctx.deps.config().org.name}: overview`,
      live: '/console/api/overview',
      temporal: ctx.ui.workflows(),
    },
    `<section>${live('summary', s.summary!)}</section>
<section><h2>Teams this month</h2>${live('teams', s.teams!)}</section>
<div class="columns"><section><h2>Spend per model</h2>${live('models', s.models!)}</section>
<section><h2>Last 7 days</h2>${live('days', s.days!)}</section></div>`,
  );
}
