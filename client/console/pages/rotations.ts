/**
 * Key rotations (org-admins, `rotations.manage`): for every configured upstream key, its rotation's
 * phase, the monitor window's time left, traffic per version and the admin actions the workflow takes in
 * that phase (approve, abort, skip the monitor with a reason).
 */
import { escapeHtml as h } from '../../../domain/reports/format';
import {
  rotationWorkflowId,
  type KeyRotationResult,
  type RotationStatus,
} from '../../../workflows/key-rotation-messages';
import { rotationStatus } from '../../services/rotation';
import type { ConsoleContext } from '../context';
import { actionForm, live, page } from '../layout';

type Row =
  | { name: string; state: 'none' }
  | { name: string; state: 'closed'; status: string; closedAt: Date | null }
  | { name: string; state: 'running'; status: RotationStatus };

async function rowOf(ctx: ConsoleContext, name: string): Promise<Row> {
  try {
    const handle = ctx.deps.temporal.workflow.getHandle(rotationWorkflowId(name));
    const description = await handle.describe();
    if (description.status.name === 'COMPLETED') {
      // a finished rotation's outcome: completed, rolled-back, aborted or failed
      const result = (await handle.result()) as KeyRotationResult;
      return { name, state: 'closed', status: result.outcome, closedAt: description.closeTime ?? null };
    }
    if (description.status.name !== 'RUNNING')
      return {
        name,
        state: 'closed',
        status: description.status.name,
        closedAt: description.closeTime ?? null,
      };
    return { name, state: 'running', status: await rotationStatus(ctx.deps.temporal, name) };
  } catch (error) {
    if ((error as Error).name === 'WorkflowNotFoundError') return { name, state: 'none' };
    throw error;
  }
}

function duration(ms: number): string {
  const s = Math.ceil(ms / 1000);
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  return hours > 0 ? `${hours}h ${minutes}m` : minutes > 0 ? `${minutes}m ${s % 60}s` : `${s}s`;
}

const ACTIONS_BY_PHASE: Record<string, ('approve' | 'abort' | 'skip-monitor')[]> = {
  'awaiting-approval': ['approve', 'abort'],
  canary: ['abort'],
  monitoring: ['skip-monitor', 'abort'],
  validating: ['abort'],
  preparing: ['abort'],
};

function render(ctx: ConsoleContext, row: Row): string {
  const link = ctx.ui.workflow(rotationWorkflowId(row.name));
  const ui = link ? `<a href="${h(link)}" rel="noreferrer">workflow</a>` : '';
  const name = `<td class="mono">${h(row.name)}</td>`;
  if (row.state === 'none')
    return `<tr data-rotation="${h(row.name)}">${name}<td>no rotation</td><td></td><td></td><td></td><td></td></tr>`;
  if (row.state === 'closed')
    return `<tr data-rotation="${h(row.name)}">${name}<td>${h(row.status.toLowerCase())}${row.closedAt ? ` at ${h(row.closedAt.toISOString().slice(0, 16).replace('T', ' '))}` : ''}</td><td></td><td></td><td></td><td>${ui}</td></tr>`;
  const s = row.status;
  const traffic =
    s.traffic.map((t) => `v${h(String(t.version))}: ${h(String(t.requests))}`).join(', ') || '-';
  const base = `/console/rotations/${encodeURIComponent(row.name)}`;
  const actions = (ACTIONS_BY_PHASE[s.phase] ?? [])
    .map((action) =>
      action === 'skip-monitor'
        ? actionForm(
            ctx.session,
            `${base}/skip-monitor`,
            'Skip monitor',
            '<input name="reason" placeholder="reason" required>',
          )
        : actionForm(ctx.session, `${base}/${action}`, action === 'approve' ? 'Approve' : 'Abort'),
    )
    .join(' ');
  return `<tr data-rotation="${h(row.name)}">${name}<td class="status">${h(s.phase)} (v${s.oldVersion ?? '-'} → v${s.newVersion ?? '-'})${
    s.reason ? `<br><span class="small">${h(s.reason)}</span>` : ''
  }</td><td>${s.timeLeftMs === null ? '-' : duration(s.timeLeftMs)}</td><td>${traffic}</td><td class="actions">${actions}</td><td>${ui}</td></tr>`;
}

export async function rotationsSections(ctx: ConsoleContext): Promise<Record<string, string>> {
  const names = ctx.deps.config().upstreamKeys.map((key) => key.name);
  const rows = await Promise.all(names.map((name) => rowOf(ctx, name)));
  return {
    rotations: `<table class="rotations"><thead><tr><th>upstream key</th><th>state</th><th>monitor time left</th><th>traffic per version</th><th></th><th></th></tr></thead><tbody>${rows
      .map((row) => render(ctx, row))
      .join('')}</tbody></table>`,
  };
}

export async function rotationsPage(ctx: ConsoleContext): Promise<string> {
  const s = await rotationsSections(ctx);
  return page(
    ctx.session,
    { title: 'Key rotations', live: '/console/api/rotations', temporal: ctx.ui.workflows() },
    `<section>${live('rotations', s.rotations!)}<p class="small">Start a rotation with <code>groq-governor rotate start NAME</code> after adding the new key with <code>keys upstream add</code>.</p></section>`,
  );
}
