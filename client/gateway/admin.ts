/**
 * The admin HTTP API, authenticated with gateway keys and authorised by the role table
 * (`domain/rbac.ts`); every change is audited by the key service.
 *
 *   POST   /admin/keys             {team, role, name?, expires_in?, models?} -> 201 {key, record}
 *   GET    /admin/keys[?team=T&all=true]
 *   DELETE /admin/keys/{id}        revoke
 *   GET    /admin/usage?period=YYYY-MM[&team=T]   spend and tokens per team and model, and per modality
 *   GET    /admin/reports?week=YYYY-Www[&team=T]   the weekly report (admin-reports.ts)
 *   /admin/rotations...            key rotations (org-admin): see admin-rotations.ts
 *   POST   /admin/batches/{id}/pause | /resume   (org-admin, or team-admin of the batch's team)
 *
 * Every route first decides from the key alone whether its role may ever call it (admin-routes.ts),
 * before the body is read or the ledger asked anything; bodies are read under the text rule
 * (json-body.ts) and checked against their bounded schema (domain/admin-requests.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatUsd } from '../../domain/money';
import { authorize, type Principal, type Role } from '../../domain/rbac';
import { isPeriod, periodOf, teamScope, ORG_SCOPE } from '../../ledger';
import { GatewayKeyError, issueKey, listKeys, revokeKey } from '../services/gateway-keys';
import { handleReports } from './admin-reports';
import { handleRotationAdmin } from './admin-rotations';
import { check, keyIssueSchema } from '../../domain/admin-requests';
import { adminRoute } from './admin-routes';
import { handleBatchAdmin } from './batches';
import { decodeSegment, sendJson, sendRefusal } from './http';
import { readJsonObject, refuseBody } from './json-body';
import type { GatewayDeps } from './deps';
import { modalityLines } from './usage-modalities';
import { usageByEndpoint } from '../../ledger/modalities';

const STATUS_OF: Record<string, 'permission_denied' | 'invalid_request_error' | 'not_found'> = {
  permission_denied: 'permission_denied',
  invalid_request: 'invalid_request_error',
  key_not_found: 'not_found',
  already_bootstrapped: 'invalid_request_error',
};

export async function handleAdmin(
  deps: GatewayDeps,
  request: IncomingMessage,
  response: ServerResponse,
  principal: Principal,
  path: string,
  headers: Record<string, string>,
): Promise<void> {
  const method = request.method ?? 'GET';
  const route = adminRoute(method, path);
  if (!route)
    return sendRefusal(
      response,
      { code: 'not_found', message: `Unknown admin path ${method} ${path}` },
      headers,
    );
  // who may call it at all, from the key alone: before the body is read or the ledger asked anything
  if (!route.may(principal)) {
    deps.log.warn('admin route refused by role', { keyId: principal.keyId, route: route.name });
    return sendRefusal(
      response,
      { code: 'permission_denied', message: `A ${principal.role} key may not use ${method} ${path}.` },
      headers,
    );
  }
  const url = new URL(request.url ?? '/', 'http://gateway');
  const config = deps.config();
  if (route.name === 'rotations') {
    await handleRotationAdmin(deps, request, response, principal, path, headers);
    return;
  }
  if (route.name === 'batches.pause') {
    const batchId = decodeSegment(route.params[0]!);
    if (batchId === undefined)
      return sendRefusal(response, { code: 'not_found', message: 'No such batch.' }, headers);
    return handleBatchAdmin(
      deps,
      response,
      principal,
      batchId,
      route.params[1] as 'pause' | 'resume',
      headers,
    );
  }
  try {
    if (route.name === 'keys.issue') {
      const body = await readJsonObject(request, config.gateway.maxBodyBytes);
      if (!body.ok) return refuseBody(response, body, headers);
      const checked = check(keyIssueSchema, body.value);
      if (!checked.ok)
        return sendRefusal(
          response,
          { code: 'invalid_request_error', message: checked.message, param: checked.param },
          headers,
        );
      const fields = checked.value;
      const issued = await issueKey(
        deps.ledger,
        principal,
        {
          team: fields.team === null ? null : (fields.team ?? principal.team),
          role: fields.role as Role,
          ...(fields.name ? { name: fields.name } : {}),
          ...(fields.expires_in ? { expiresIn: fields.expires_in } : {}),
          ...(fields.models ? { models: fields.models } : {}),
        },
        config,
      );
      return sendJson(response, 201, issued, headers);
    }
    if (route.name === 'keys.list') {
      const team = url.searchParams.get('team');
      const keys = await listKeys(deps.ledger, principal, {
        ...(team !== null ? { team: team === '' ? null : team } : {}),
        includeInactive: url.searchParams.get('all') === 'true',
      });
      return sendJson(response, 200, { object: 'list', data: keys }, headers);
    }
    if (route.name === 'keys.revoke') {
      const id = decodeSegment(route.params[0]!);
      if (id === undefined)
        return sendRefusal(response, { code: 'not_found', message: 'No such key.' }, headers);
      const result = await revokeKey(deps.ledger, principal, id);
      deps.authenticator.invalidate(result.record.publicId);
      return sendJson(response, 200, result, headers);
    }
    if (route.name === 'reports') {
      return await handleReports(deps, url, response, principal, headers);
    }
    if (route.name === 'usage') {
      const period = url.searchParams.get('period') ?? periodOf(new Date(), config.org.timezone);
      if (!isPeriod(period)) {
        return sendRefusal(
          response,
          { code: 'invalid_request_error', message: 'period must look like 2026-11', param: 'period' },
          headers,
        );
      }
      const team = url.searchParams.get('team') ?? principal.team;
      const decision =
        team === null ? authorize(principal, 'org_usage.read') : authorize(principal, 'usage.read', { team });
      if (!decision.allowed)
        return sendRefusal(response, { code: 'permission_denied', message: decision.reason }, headers);
      const filter = { period, ...(team !== null ? { team } : {}) };
      const [byModel, byTeam, spend, byEndpoint] = await Promise.all([
        deps.ledger.usageTotalsByModel(filter),
        deps.ledger.usageTotalsByTeam(filter),
        deps.ledger.getSpend(team === null ? ORG_SCOPE : teamScope(team), period),
        usageByEndpoint(deps.ledger.sql, filter),
      ]);
      const money = (nanos: bigint) => ({ nanos: nanos.toString(), usd: formatUsd(nanos) });
      const totals = (rows: typeof byModel) =>
        rows.map((row) => ({
          key: row.key,
          attempts: Number(row.attempts),
          prompt_tokens: Number(row.promptTokens),
          completion_tokens: Number(row.completionTokens),
          cached_tokens: Number(row.cachedTokens),
          cost: money(row.costNanos),
        }));
      return sendJson(
        response,
        200,
        {
          period,
          scope: team === null ? 'org' : `team:${team}`,
          spend: {
            committed: money(spend.committed),
            held: money(spend.held),
            unknown: money(spend.unknown),
          },
          by_model: totals(byModel),
          by_team: totals(byTeam),
          by_modality: modalityLines(byEndpoint, money),
        },
        headers,
      );
    }
    return sendRefusal(
      response,
      { code: 'not_found', message: `Unknown admin path ${method} ${path}` },
      headers,
    );
  } catch (error) {
    if (error instanceof GatewayKeyError) {
      return sendRefusal(
        response,
        { code: STATUS_OF[error.code] ?? 'invalid_request_error', message: error.message },
        headers,
      );
    }
    throw error;
  }
}
