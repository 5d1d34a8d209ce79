/**
 * The admin routes and who may call each at all, decided from the key alone (its role and whether it
 * has a team) before the body is read or the ledger is asked anything. A key whose role can never do a
 * route's action gets 403 at once; the finer decision (which team, which role of key) follows in the
 * route, on its target.
 */
import { mayEver, type Principal } from '../../domain/rbac';

export type AdminRouteName =
  'keys.issue' | 'keys.list' | 'keys.revoke' | 'usage' | 'reports' | 'rotations' | 'batches.pause';

interface RouteSpec {
  name: AdminRouteName;
  method: string | null;
  pattern: RegExp;
  may: (principal: Principal) => boolean;
}

const ROUTES: readonly RouteSpec[] = [
  { name: 'keys.issue', method: 'POST', pattern: /^\/admin\/keys$/, may: (p) => mayEver(p, 'keys.issue') },
  { name: 'keys.list', method: 'GET', pattern: /^\/admin\/keys$/, may: (p) => mayEver(p, 'keys.list') },
  {
    name: 'keys.revoke',
    method: 'DELETE',
    pattern: /^\/admin\/keys\/([^/]+)$/,
    may: (p) => mayEver(p, 'keys.revoke'),
  },
  {
    name: 'usage',
    method: 'GET',
    pattern: /^\/admin\/usage$/,
    may: (p) => mayEver(p, 'usage.read') || mayEver(p, 'org_usage.read'),
  },
  {
    name: 'reports',
    method: 'GET',
    pattern: /^\/admin\/reports$/,
    may: (p) => mayEver(p, 'reports.read') || mayEver(p, 'usage.read'),
  },
  // every method: the rotation handler answers the ones it does not know with 404
  {
    name: 'rotations',
    method: null,
    pattern: /^\/admin\/rotations(\/.*)?$/,
    may: (p) => mayEver(p, 'rotations.manage'),
  },
  // an org-admin, or the team-admin of the batch's team (checked on the batch)
  {
    name: 'batches.pause',
    method: 'POST',
    pattern: /^\/admin\/batches\/([^/]+)\/(pause|resume)$/,
    may: (p) => p.role === 'org-admin' || (p.role === 'team-admin' && p.team !== null),
  },
];

export interface AdminRoute {
  name: AdminRouteName;
  /** the route's path parameters, still percent-encoded */
  params: string[];
  may: (principal: Principal) => boolean;
}

/** The admin route a request is for; undefined: no such route (404). */
export function adminRoute(method: string, path: string): AdminRoute | undefined {
  for (const spec of ROUTES) {
    if (spec.method !== null && spec.method !== method) continue;
    const match = spec.pattern.exec(path);
    if (match)
      return { name: spec.name, params: match.slice(1).filter((p) => p !== undefined), may: spec.may };
  }
  return undefined;
}
