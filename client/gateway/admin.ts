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
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatUsd } from '../../domain/money';
import { authorize, type Principal, type Role } from '../../domain/rbac';
import { isPeriod, periodOf, teamScope, ORG_SCOPE } from '../../ledger';
import { GatewayKeyError, issueKey, listKeys, revokeKey } from '../services/gateway-keys';
import { handleReports } from './admin-reports';
import { handleRotationAdmin } from './admin-rotations';
import { BodyTooLargeError, decodeSegment, readBody, sendJson, sendRefusal } from './http';
import type { GatewayDeps } from './server';
import { modalityLines } from './usage-modalities';
import { usageByEndpoint } from '../../ledger/modalities';

const STATUS_OF: Record<string, 'permission_denied' | 'invalid_request_error' | 'not_found'> = {
  permission_denied: 'permission_denied',
  invalid_request: 'invalid_request_error',
  key_not_found: 'not_found',
  already_bootstrapped: 'invalid_request_error',
};

async function jsonBody(
  request: IncomingMessage,
  limit: number,
): Promise<Record<string, unknown> | undefined> {
  try {
    const parsed: unknown = JSON.parse((await readBody(request, limit)).toString('utf8') || '{}');
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw error;
    return undefined;
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export async function handleAdmin(
  deps: GatewayDeps,
  request: IncomingMessage,
  response: ServerResponse,
  principal: Principal,
  path: string,
  headers: Record<string, string>,
): Promise<void> {
  const method = request.method ?? 'GET';
  const url = new URL(request.url ?? '/', 'http://gateway');
  const config = deps.config();
  if (await handleRotationAdmin(deps, request, response, principal, path, headers)) return;
  try {
    if (path === '/admin/keys' && method === 'POST') {
      const body = await jsonBody(request, config.gateway.maxBodyBytes);
      if (!body)
        return sendRefusal(
          response,
          { code: 'invalid_request_error', message: 'Send a JSON object.' },
          headers,
        );
      const models = Array.isArray(body.models)
        ? body.models.filter((m): m is string => typeof m === 'string')
        : undefined;
      const issued = await issueKey(
        deps.ledger,
        principal,
        {
          team: body.team === null ? null : (str(body.team) ?? principal.team),
          role: str(body.role) as Role,
          ...(str(body.name) ? { name: str(body.name)! } : {}),
          ...(str(body.expires_in) ? { expiresIn: str(body.expires_in)! } : {}),
          ...(models ? { models } : {}),
        },
        config,
      );
      return sendJson(response, 201, issued, headers);
    }
    if (path === '/admin/keys' && method === 'GET') {
      const team = url.searchParams.get('team');
      const keys = await listKeys(deps.ledger, principal, {
        ...(team !== null ? { team: team === '' ? null : team } : {}),
        includeInactive: url.searchParams.get('all') === 'true',
      });
      return sendJson(response, 200, { object: 'list', data: keys }, headers);
    }
    const keyPath = /^\/admin\/keys\/([^/]+)$/.exec(path);
    if (keyPath && method === 'DELETE') {
      const id = decodeSegment(keyPath[1]!);
      if (id === undefined)
        return sendRefusal(response, { code: 'not_found', message: 'No such key.' }, headers);
      const result = await revokeKey(deps.ledger, principal, id);
      deps.authenticator.invalidate(result.record.publicId);
      return sendJson(response, 200, result, headers);
    }
    if (path === '/admin/reports' && method === 'GET') {
      return await handleReports(deps, url, response, principal, headers);
    }
    if (path === '/admin/usage' && method === 'GET') {
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
    if (error instanceof BodyTooLargeError) {
      return sendRefusal(
        response,
        { code: 'request_too_large', message: 'The request body is too large.' },
        headers,
      );
    }
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
