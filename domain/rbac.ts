/**
 * Role-based access control for gateway keys: pure data and one decision function, no I/O.
 *
 * Every key carries one role, and a team unless it is an org-level key:
 *
 * | action                                    | org-admin | team-admin                   | member           | viewer                       |
 * |-------------------------------------------|-----------|------------------------------|------------------|------------------------------|
 * | completions, batches for own team         | -         | own team                     | own team         | -                            |
 * | read usage and batches                    | any team  | own team                     | own batches only | own team (org-level: any)    |
 * | issue / revoke / list keys                | any team  | own team, member/viewer only | -                | -                            |
 * | rotations, teams, schedules (manage)      | yes       | -                            | -                | -                            |
 * | org usage, reports, schedules (read)      | yes       | -                            | -                | org-level viewer only        |
 *
 * `authorize` fails closed: an unknown role or action, a missing target role where one matters, or a
 * team-bound rule checked by a principal without a team are all refused.
 */

export const ROLES = ['org-admin', 'team-admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Who is asking: the gateway key that authenticated the request. */
export interface Principal {
  keyId: string;
  role: Role;
  /** null: an org-level key (org-admin, or an org-level viewer) */
  team: string | null;
  /** a narrower model allow-list than the team's; absent: whatever the team may use */
  models?: readonly string[];
}

export const ACTIONS = [
  'completions.create',
  'batches.create',
  'usage.read',
  'batches.read',
  'keys.issue',
  'keys.revoke',
  'keys.list',
  'rotations.manage',
  'teams.manage',
  'schedules.manage',
  'schedules.read',
  'org_usage.read',
  'reports.read',
] as const;
export type Action = (typeof ACTIONS)[number];

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && (ACTIONS as readonly string[]).includes(value);
}

/** What the action is about. */
export interface Target {
  /** the team acted on; null: org level; undefined: the principal's own team */
  team?: string | null;
  /** the key that owns the target (a batch's creator, or the key itself for key actions) */
  ownerKeyId?: string;
  /** the role of the key being issued or revoked */
  role?: Role;
  /** completions and batches: the model asked for, checked against the principal's narrower list */
  model?: string;
  /** keys.issue: the models the new key will be limited to (undefined: unrestricted within its team) */
  models?: readonly string[];
}

export type Decision = { allowed: true } | { allowed: false; code: 'permission_denied'; reason: string };

/**
 * How far a role's permission for an action reaches:
 * - `none`: never;
 * - `any`: any target, any team or the org level;
 * - `own-team`: targets of the principal's own team (a principal without a team has none);
 * - `own-team-subordinate`: own team, and the target key's role is member or viewer;
 * - `own-batches`: own team, and the target is owned by the principal's own key;
 * - `own-team-or-org`: own team for a team-bound key; any team and the org level for an org-level key;
 * - `org-level`: only a principal without a team (an org-level key), any target.
 */
export type Scope =
  'none' | 'any' | 'own-team' | 'own-team-subordinate' | 'own-batches' | 'own-team-or-org' | 'org-level';

/** The permission table as data: action -> role -> scope. */
export const PERMISSIONS: Readonly<Record<Action, Readonly<Record<Role, Scope>>>> = {
  'completions.create': { 'org-admin': 'none', 'team-admin': 'own-team', member: 'own-team', viewer: 'none' },
  'batches.create': { 'org-admin': 'none', 'team-admin': 'own-team', member: 'own-team', viewer: 'none' },
  'usage.read': { 'org-admin': 'any', 'team-admin': 'own-team', member: 'none', viewer: 'own-team-or-org' },
  'batches.read': {
    'org-admin': 'any',
    'team-admin': 'own-team',
    member: 'own-batches',
    viewer: 'own-team-or-org',
  },
  'keys.issue': { 'org-admin': 'any', 'team-admin': 'own-team-subordinate', member: 'none', viewer: 'none' },
  'keys.revoke': { 'org-admin': 'any', 'team-admin': 'own-team-subordinate', member: 'none', viewer: 'none' },
  'keys.list': { 'org-admin': 'any', 'team-admin': 'own-team', member: 'none', viewer: 'none' },
  'rotations.manage': { 'org-admin': 'any', 'team-admin': 'none', member: 'none', viewer: 'none' },
  'teams.manage': { 'org-admin': 'any', 'team-admin': 'none', member: 'none', viewer: 'none' },
  'schedules.manage': { 'org-admin': 'any', 'team-admin': 'none', member: 'none', viewer: 'none' },
  'schedules.read': { 'org-admin': 'any', 'team-admin': 'none', member: 'none', viewer: 'org-level' },
  'org_usage.read': { 'org-admin': 'any', 'team-admin': 'none', member: 'none', viewer: 'org-level' },
  'reports.read': { 'org-admin': 'any', 'team-admin': 'none', member: 'none', viewer: 'org-level' },
};

/** Roles a team-admin may issue and revoke: strictly below its own. */
export const SUBORDINATE_ROLES: readonly Role[] = ['member', 'viewer'];

const ALLOWED: Decision = { allowed: true };

function deny(reason: string): Decision {
  return { allowed: false, code: 'permission_denied', reason };
}

function describe(principal: Principal): string {
  return principal.team === null
    ? `an org-level ${principal.role} key`
    : `a ${principal.role} key of team ${JSON.stringify(principal.team)}`;
}

function describeTeam(team: string | null): string {
  return team === null ? 'the org level' : `team ${JSON.stringify(team)}`;
}

/**
 * Whether `principal` may do `action` on some target at all, from its role and whether it has a team:
 * what a route can decide before it reads a body or the ledger. False means every target is refused.
 */
export function mayEver(principal: Principal, action: Action): boolean {
  if (!isAction(action) || !isRole(principal.role)) return false;
  const scope = PERMISSIONS[action][principal.role];
  if (scope === 'none') return false;
  if (scope === 'org-level') return principal.team === null;
  if (scope === 'own-team' || scope === 'own-team-subordinate' || scope === 'own-batches')
    return principal.team !== null;
  return true;
}

/** The decision for `principal` doing `action` on `target`. */
export function authorize(principal: Principal, action: Action, target: Target = {}): Decision {
  if (!isAction(action)) return deny(`unknown action ${JSON.stringify(action)}`);
  if (!isRole(principal.role)) return deny(`unknown role ${JSON.stringify(principal.role)}`);
  const scope = PERMISSIONS[action][principal.role];
  const who = describe(principal);
  const team = target.team === undefined ? principal.team : target.team;
  const ownTeam = principal.team !== null && team === principal.team;

  switch (scope) {
    case 'none':
      return deny(`${who} may not ${action}`);
    case 'any':
      break;
    case 'org-level':
      if (principal.team !== null) return deny(`${who} may not ${action}: only org-level keys may`);
      break;
    case 'own-team':
      if (!ownTeam) return deny(`${who} may not ${action} for ${describeTeam(team)}`);
      break;
    case 'own-team-or-org':
      if (principal.team !== null && !ownTeam)
        return deny(`${who} may not ${action} for ${describeTeam(team)}`);
      break;
    case 'own-batches':
      if (!ownTeam) return deny(`${who} may not ${action} for ${describeTeam(team)}`);
      if (target.ownerKeyId === undefined || target.ownerKeyId !== principal.keyId)
        return deny(`${who} may only ${action} for batches it created itself`);
      break;
    case 'own-team-subordinate':
      if (!ownTeam) return deny(`${who} may not ${action} for ${describeTeam(team)}`);
      if (target.role === undefined || !SUBORDINATE_ROLES.includes(target.role))
        return deny(
          `${who} may only ${action} for member and viewer keys, not ${target.role ?? 'an unspecified role'}`,
        );
      break;
    default: {
      const never: never = scope;
      return deny(`unknown scope ${String(never)}`);
    }
  }

  return narrowerModels(principal, action, target, who);
}

/** A principal with a narrower model list can neither call nor hand out models outside it. */
function narrowerModels(principal: Principal, action: Action, target: Target, who: string): Decision {
  const own = principal.models;
  if (own === undefined) return ALLOWED;
  if (action === 'completions.create' || action === 'batches.create') {
    if (target.model !== undefined && !own.includes(target.model))
      return deny(`${who} may not use model ${JSON.stringify(target.model)}`);
  }
  if (action === 'keys.issue') {
    if (target.models === undefined)
      return deny(`${who} is limited to some models and may not issue a key without a model list`);
    const outside = target.models.filter((model) => !own.includes(model));
    if (outside.length > 0)
      return deny(`${who} may not issue a key for models it may not use: ${outside.join(', ')}`);
  }
  return ALLOWED;
}
