/**
 * Weekly reports: the self-contained HTML report of any week, computed from the ledger by the code the
 * report workflow and `GET /admin/reports` use. Whole-report readers (`reports.read`) see the org; a
 * team-bound reader sees its own team's part, as the admin API answers it.
 */
import { teamPart } from '../../../domain/reports/figures';
import { escapeHtml as h } from '../../../domain/reports/format';
import { isIsoWeek, shiftWeek, weekBefore } from '../../../domain/reports/iso-week';
import { renderHtml } from '../../../domain/reports/render-html';
import { authorize } from '../../../domain/rbac';
import { loadWeeklyReport } from '../../../ledger/reports';
import { REPORT_SCHEDULE_ID } from '../../services/report-schedule';
import type { ConsoleContext } from '../context';
import { page } from '../layout';

export function weekOf(ctx: ConsoleContext): string | undefined {
  const asked = ctx.url.searchParams.get('week');
  const week = asked ?? weekBefore(ctx.now, ctx.deps.config().org.timezone);
  return isIsoWeek(week) ? week : undefined;
}

/** The report's HTML, or the refusal's reason. */
export async function reportHtml(
  ctx: ConsoleContext,
  week: string,
): Promise<{ html: string } | { denied: string }> {
  const { principal } = ctx;
  let team: string | null = null;
  if (!authorize(principal, 'reports.read').allowed) {
    const decision =
      principal.team === null
        ? authorize(principal, 'reports.read')
        : authorize(principal, 'usage.read', { team: principal.team });
    if (!decision.allowed) return { denied: decision.reason };
    team = principal.team;
  }
  const report = await loadWeeklyReport(ctx.deps.ledger.sql, ctx.deps.config(), week, ctx.now);
  return { html: renderHtml(team === null ? report : teamPart(report, team)) };
}

export function reportsPage(ctx: ConsoleContext, week: string): string {
  const src = `/console/reports/${encodeURIComponent(week)}/report.html`;
  const link = ctx.ui.schedule(REPORT_SCHEDULE_ID);
  return page(
    ctx.session,
    { title: `Weekly report ${week}`, temporal: link },
    `<form method="get" action="/console/reports" class="week"><a href="/console/reports?week=${h(shiftWeek(week, -1))}">← ${h(shiftWeek(week, -1))}</a>
<label>Week <input name="week" value="${h(week)}" pattern="\\d{4}-W\\d{2}"></label><button>Show</button>
<a href="/console/reports?week=${h(shiftWeek(week, 1))}">${h(shiftWeek(week, 1))} →</a> <a href="${src}">open alone</a></form>
<iframe class="report" src="${src}" title="Weekly report ${h(week)}"></iframe>`,
  );
}
