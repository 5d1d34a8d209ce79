/**
 * Batches: progress, spend, pause/resume (org-admins, the team-admin of the batch's team), cancel (who may
 * create batches for its team), results download and a link to each batch's workflow. The list is read as
 * `GET /openai/v1/batches` reads it, with the running workflow's progress query.
 */
import { formatUsd } from '../../../domain/money';
import { escapeHtml as h } from '../../../domain/reports/format';
import { authorize, type Principal } from '../../../domain/rbac';
import { BatchStore, FINAL_BATCH_STATUSES, type BatchRow } from '../../../ledger/batches';
import { batchWorkflowId } from '../../../workflows/batch-job-messages';
import { liveCounts, mayRead } from '../../gateway/batches';
import type { LiveCounts } from '../../gateway/batch-objects';
import type { ConsoleContext } from '../context';
import { actionForm, live, page } from '../layout';

/** Org-level readers see every team's batches; team-bound keys their own team's (members: their own). */
export async function visibleBatches(ctx: ConsoleContext, team?: string, limit = 50): Promise<BatchRow[]> {
  const { principal } = ctx;
  const store = new BatchStore(ctx.deps.ledger.sql);
  const orgLevel = principal.team === null && authorize(principal, 'batches.read', { team: null }).allowed;
  const rows = await store.listBatches({
    team: team ?? (orgLevel ? null : principal.team),
    ...(principal.role === 'member' ? { gatewayKeyId: principal.keyId } : {}),
    limit,
  });
  return rows.filter((row) => mayRead(principal, row));
}

export function mayPause(principal: Principal, batch: Pick<BatchRow, 'team'>): boolean {
  return principal.role === 'org-admin' || (principal.role === 'team-admin' && principal.team === batch.team);
}

function progress(counts: LiveCounts): string {
  const done = counts.completed + counts.failed;
  const pct = counts.total > 0 ? Math.floor((done * 100) / counts.total) : 0;
  return `<svg class="progress" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label="${pct}% done"><rect width="100" height="8" fill="#e5e7eb"/><rect width="${pct}" height="8" fill="#16a34a"/></svg><span class="small">${counts.completed} ok, ${counts.failed} failed of ${counts.total}</span>`;
}

function actions(ctx: ConsoleContext, batch: BatchRow, paused: boolean): string {
  const out: string[] = [];
  const base = `/console/batches/${encodeURIComponent(batch.id)}`;
  const back = `<input type="hidden" name="back" value="${h(ctx.url.pathname.replace('/console/api/', '/console/'))}">`;
  const running = !FINAL_BATCH_STATUSES.includes(batch.status);
  if (running && mayPause(ctx.principal, batch))
    out.push(
      actionForm(ctx.session, `${base}/${paused ? 'resume' : 'pause'}`, paused ? 'Resume' : 'Pause', back),
    );
  if (running && authorize(ctx.principal, 'batches.create', { team: batch.team }).allowed)
    out.push(actionForm(ctx.session, `${base}/cancel`, 'Cancel', back));
  if (batch.outputFileId) out.push(`<a href="${base}/output" download>results</a>`);
  if (batch.errorFileId) out.push(`<a href="${base}/errors" download>errors</a>`);
  const link = ctx.ui.workflow(batchWorkflowId(batch.id));
  if (link) out.push(`<a href="${h(link)}" rel="noreferrer">workflow</a>`);
  return out.join(' ');
}

export async function batchTable(ctx: ConsoleContext, rows: BatchRow[]): Promise<string> {
  if (rows.length === 0) return `<p class="empty">No batches.</p>`;
  const store = new BatchStore(ctx.deps.ledger.sql);
  const lines = await Promise.all(
    rows.map(async (batch) => {
      const counts = await liveCounts(ctx.deps, store, batch);
      const status = counts.status ?? batch.status;
      const paused = counts.paused ?? batch.paused;
      return `<tr data-batch="${h(batch.id)}"><td class="mono">${h(batch.id)}</td><td>${h(batch.team)}</td><td class="status">${h(status)}${paused ? ' <b class="tag">paused</b>' : ''}</td><td>${h(batch.mode)}</td><td>${progress(counts)}</td><td data-nanos="${counts.spendNanos}">$${formatUsd(counts.spendNanos)}</td><td class="actions">${actions(ctx, batch, paused)}</td></tr>`;
    }),
  );
  return `<table><thead><tr><th>batch</th><th>team</th><th>status</th><th>mode</th><th>progress</th><th>spend</th><th></th></tr></thead><tbody>${lines.join('')}</tbody></table>`;
}

export async function batchesSections(ctx: ConsoleContext): Promise<Record<string, string>> {
  return { batches: await batchTable(ctx, await visibleBatches(ctx)) };
}

export async function batchesPage(ctx: ConsoleContext): Promise<string> {
  const sections = await batchesSections(ctx);
  return page(
    ctx.session,
    { title: 'Batches', live: '/console/api/batches', temporal: ctx.ui.workflows() },
    `<section>${live('batches', sections.batches!)}</section>`,
  );
}
