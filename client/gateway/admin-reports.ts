/**
 * GET /admin/reports?week=2026-W47[&team=T]: the weekly report, computed from the ledger by the same
 * code the report workflow uses (so it matches the files of a finished week). org-admins and org-level
 * viewers read the whole report; team-admins and team viewers read only their own team's part (no org
 * row, no other team). Money is in nano-dollars as decimal strings.
 */
import type { ServerResponse } from 'node:http';
import { teamPart } from '../../domain/reports/figures';
import { toJson } from '../../domain/reports/format';
import { isIsoWeek, weekBefore } from '../../domain/reports/iso-week';
import { authorize, type Principal } from '../../domain/rbac';
import { loadWeeklyReport } from '../../ledger/reports';
import { sendJson, sendRefusal } from './http';
import type { GatewayDeps } from './deps';

export async function handleReports(
  deps: GatewayDeps,
  url: URL,
  response: ServerResponse,
  principal: Principal,
  headers: Record<string, string>,
): Promise<void> {
  const config = deps.config();
  const week = url.searchParams.get('week') ?? weekBefore(new Date(), config.org.timezone);
  if (!isIsoWeek(week)) {
    return sendRefusal(
      response,
      { code: 'invalid_request_error', message: 'week must look like 2026-W47', param: 'week' },
      headers,
    );
  }
  const asked = url.searchParams.get('team');
  const whole = authorize(principal, 'reports.read').allowed;
  let team: string | null = asked;
  if (!whole) {
    // a team-bound reader: its own team's part only
    const decision =
      principal.team === null
        ? authorize(principal, 'reports.read')
        : authorize(principal, 'usage.read', { team: asked ?? principal.team });
    if (!decision.allowed)
      return sendRefusal(response, { code: 'permission_denied', message: decision.reason }, headers);
    team = asked ?? principal.team;
  }
  const report = await loadWeeklyReport(deps.ledger.sql, config, week, new Date());
  const body = team === null ? report : { ...teamPart(report, team), scope: `team:${team}` };
  return sendJson(response, 200, JSON.parse(toJson(body)) as unknown, headers);
}
