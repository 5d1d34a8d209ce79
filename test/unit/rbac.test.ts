/**
 * The permission table, cell by cell. The expected answers are written out here by hand from the
 * product's table; nothing is derived from domain/rbac.ts's own data.
 *
 * Principals: org-admin (no team), team-admin / member / viewer of team "alpha", and an org-level
 * viewer (no team). Targets: "own" = team alpha, "other" = team beta, "org" = the org level (null).
 * For the key actions the target key's role is member (the one role a team-admin may manage and that
 * exists both in a team and, as viewer, at the org level is tested separately below).
 */
import { describe, expect, it } from 'vitest';
import {
  ACTIONS,
  authorize,
  mayEver,
  type Action,
  type Principal,
  type Role,
  type Target,
} from '../../domain/rbac';

const OWN = 'alpha';
const OTHER = 'beta';

const principals = {
  'org-admin': { keyId: 'key_orgadmin', role: 'org-admin', team: null },
  'team-admin': { keyId: 'key_teamadmin', role: 'team-admin', team: OWN },
  member: { keyId: 'key_member', role: 'member', team: OWN },
  'viewer@team': { keyId: 'key_viewer', role: 'viewer', team: OWN },
  'viewer@org': { keyId: 'key_orgviewer', role: 'viewer', team: null },
} satisfies Record<string, Principal>;
type Who = keyof typeof principals;

const targets = { own: OWN, other: OTHER, org: null } as const;
type Where = keyof typeof targets;

/**
 * Each cell: three letters for the targets own / other / org. Y = allowed, - = refused.
 * (For org-admin, "own" is simply some team: it has none of its own.)
 */
const EXPECTED: Record<Action, Record<Who, string>> = {
  //                    org-admin  team-admin  member  viewer@team  viewer@org
  'completions.create': {
    'org-admin': '---',
    'team-admin': 'Y--',
    member: 'Y--',
    'viewer@team': '---',
    'viewer@org': '---',
  },
  'batches.create': {
    'org-admin': '---',
    'team-admin': 'Y--',
    member: 'Y--',
    'viewer@team': '---',
    'viewer@org': '---',
  },
  'usage.read': {
    'org-admin': 'YYY',
    'team-admin': 'Y--',
    member: '---',
    'viewer@team': 'Y--',
    'viewer@org': 'YYY',
  },
  // batches not created by the member itself (its own ones: see below)
  'batches.read': {
    'org-admin': 'YYY',
    'team-admin': 'Y--',
    member: '---',
    'viewer@team': 'Y--',
    'viewer@org': 'YYY',
  },
  'keys.issue': {
    'org-admin': 'YYY',
    'team-admin': 'Y--',
    member: '---',
    'viewer@team': '---',
    'viewer@org': '---',
  },
  'keys.revoke': {
    'org-admin': 'YYY',
    'team-admin': 'Y--',
    member: '---',
    'viewer@team': '---',
    'viewer@org': '---',
  },
  'keys.list': {
    'org-admin': 'YYY',
    'team-admin': 'Y--',
    member: '---',
    'viewer@team': '---',
    'viewer@org': '---',
  },
  'rotations.manage': {
    'org-admin': 'YYY',
    'team-admin': '---',
    member: '---',
    'viewer@team': '---',
    'viewer@org': '---',
  },
  'teams.manage': {
    'org-admin': 'YYY',
    'team-admin': '---',
    member: '---',
    'viewer@team': '---',
    'viewer@org': '---',
  },
  'schedules.manage': {
    'org-admin': 'YYY',
    'team-admin': '---',
    member: '---',
    'viewer@team': '---',
    'viewer@org': '---',
  },
  'schedules.read': {
    'org-admin': 'YYY',
    'team-admin': '---',
    member: '---',
    'viewer@team': '---',
    'viewer@org': 'YYY',
  },
  'org_usage.read': {
    'org-admin': 'YYY',
    'team-admin': '---',
    member: '---',
    'viewer@team': '---',
    'viewer@org': 'YYY',
  },
  'reports.read': {
    'org-admin': 'YYY',
    'team-admin': '---',
    member: '---',
    'viewer@team': '---',
    'viewer@org': 'YYY',
  },
};

/** The 13 actions of the closed union, listed by hand: a new action must be added to the table above. */
const ALL_ACTIONS: Action[] = [
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
];

function targetFor(action: Action, where: Where): Target {
  const team = targets[where];
  // a key of the target team: member in a team, viewer at the org level (the only valid org-level key
  // below org-admin)
  if (action === 'keys.issue' || action === 'keys.revoke')
    return { team, role: team === null ? 'viewer' : 'member' };
  return { team };
}

describe('the permission table, cell by cell', () => {
  it('covers every action of the union exactly once', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...ALL_ACTIONS].sort());
  });

  for (const action of ALL_ACTIONS) {
    describe(action, () => {
      for (const who of Object.keys(principals) as Who[]) {
        const row = EXPECTED[action][who];
        (['own', 'other', 'org'] as const).forEach((where, column) => {
          const allowed = row[column] === 'Y';
          it(`${who} on ${where} target: ${allowed ? 'allowed' : 'refused'}`, () => {
            const decision = authorize(principals[who], action, targetFor(action, where));
            expect(decision.allowed).toBe(allowed);
            if (!decision.allowed) {
              expect(decision.code).toBe('permission_denied');
              expect(decision.reason).toMatch(/\S/);
            }
          });
        });
      }
    });
  }
});

describe('own batches', () => {
  const member = principals.member;
  it('a member reads a batch it created itself, in its own team', () => {
    expect(authorize(member, 'batches.read', { team: OWN, ownerKeyId: member.keyId })).toEqual({
      allowed: true,
    });
  });
  it("a member does not read another key's batch of its own team", () => {
    const decision = authorize(member, 'batches.read', { team: OWN, ownerKeyId: 'key_someone_else' });
    expect(decision.allowed).toBe(false);
  });
  it('a member does not read a batch of another team even with its own key id as owner', () => {
    expect(authorize(member, 'batches.read', { team: OTHER, ownerKeyId: member.keyId }).allowed).toBe(false);
  });
  it("a member does not read its team's usage, not even naming itself as owner", () => {
    expect(authorize(member, 'usage.read', { team: OWN, ownerKeyId: member.keyId }).allowed).toBe(false);
  });
  it('a team-admin and a team viewer read any batch of their team, whoever created it', () => {
    const target = { team: OWN, ownerKeyId: 'key_someone_else' };
    expect(authorize(principals['team-admin'], 'batches.read', target).allowed).toBe(true);
    expect(authorize(principals['viewer@team'], 'batches.read', target).allowed).toBe(true);
  });
});

describe('a target without a team means the principal’s own team', () => {
  it('a member creates completions without naming its team', () => {
    expect(authorize(principals.member, 'completions.create').allowed).toBe(true);
  });
  it('an org-admin still may not create completions', () => {
    expect(authorize(principals['org-admin'], 'completions.create').allowed).toBe(false);
  });
  it('an org-level viewer reads org usage without a target', () => {
    expect(authorize(principals['viewer@org'], 'usage.read').allowed).toBe(true);
    expect(authorize(principals['viewer@org'], 'org_usage.read').allowed).toBe(true);
  });
});

describe('role escalation is impossible', () => {
  const teamAdmin = principals['team-admin'];
  const cases: Array<[string, Action, Target, boolean]> = [
    // issuing: a team-admin hands out only member and viewer keys of its own team
    ['issue a member key for its team', 'keys.issue', { team: OWN, role: 'member' }, true],
    ['issue a viewer key for its team', 'keys.issue', { team: OWN, role: 'viewer' }, true],
    ['issue a team-admin key for its team', 'keys.issue', { team: OWN, role: 'team-admin' }, false],
    ['issue an org-admin key', 'keys.issue', { team: null, role: 'org-admin' }, false],
    ['issue an org-admin key claiming its own team', 'keys.issue', { team: OWN, role: 'org-admin' }, false],
    ['issue an org-level viewer key', 'keys.issue', { team: null, role: 'viewer' }, false],
    ['issue a member key for another team', 'keys.issue', { team: OTHER, role: 'member' }, false],
    ['issue a key without saying which role', 'keys.issue', { team: OWN }, false],
    // revoking: the same reach
    ['revoke a member key of its team', 'keys.revoke', { team: OWN, role: 'member', ownerKeyId: 'k1' }, true],
    ['revoke a viewer key of its team', 'keys.revoke', { team: OWN, role: 'viewer', ownerKeyId: 'k2' }, true],
    ['revoke another team-admin of its team', 'keys.revoke', { team: OWN, role: 'team-admin' }, false],
    ['revoke an org-admin key', 'keys.revoke', { team: null, role: 'org-admin' }, false],
    ['revoke a member key of another team', 'keys.revoke', { team: OTHER, role: 'member' }, false],
    ['revoke an org-level viewer key', 'keys.revoke', { team: null, role: 'viewer' }, false],
    ['revoke a key of unknown role', 'keys.revoke', { team: OWN }, false],
    // listing: own team only
    ['list its team’s keys', 'keys.list', { team: OWN }, true],
    ['list another team’s keys', 'keys.list', { team: OTHER }, false],
    ['list org-level keys', 'keys.list', { team: null }, false],
    // org powers
    ['manage rotations', 'rotations.manage', {}, false],
    ['manage teams', 'teams.manage', { team: OWN }, false],
    ['read org usage', 'org_usage.read', {}, false],
  ];
  for (const [what, action, target, allowed] of cases) {
    it(`a team-admin may ${allowed ? '' : 'not '}${what}`, () => {
      expect(authorize(teamAdmin, action, target).allowed).toBe(allowed);
    });
  }

  it('a member and a team viewer issue and revoke nothing, not even keys below or equal to them', () => {
    for (const who of ['member', 'viewer@team'] as const) {
      for (const role of ['member', 'viewer'] as Role[]) {
        expect(authorize(principals[who], 'keys.issue', { team: OWN, role }).allowed).toBe(false);
        expect(authorize(principals[who], 'keys.revoke', { team: OWN, role }).allowed).toBe(false);
      }
    }
  });

  it('an org-level viewer changes nothing', () => {
    const viewer = principals['viewer@org'];
    for (const action of [
      'keys.issue',
      'keys.revoke',
      'rotations.manage',
      'teams.manage',
      'schedules.manage',
    ] as const)
      expect(authorize(viewer, action, { team: null, role: 'viewer' }).allowed).toBe(false);
  });

  it('an org-admin may issue and revoke every role, org-level and in any team', () => {
    const admin = principals['org-admin'];
    for (const role of ['org-admin', 'team-admin', 'member', 'viewer'] as Role[]) {
      expect(
        authorize(admin, 'keys.issue', { team: role === 'org-admin' ? null : OTHER, role }).allowed,
      ).toBe(true);
      expect(
        authorize(admin, 'keys.revoke', { team: role === 'org-admin' ? null : OTHER, role }).allowed,
      ).toBe(true);
    }
  });

  it('a team-admin limited to some models cannot hand out others, nor an unlimited key', () => {
    const limited: Principal = { ...teamAdmin, models: ['small'] };
    expect(authorize(limited, 'keys.issue', { team: OWN, role: 'member', models: ['small'] }).allowed).toBe(
      true,
    );
    expect(
      authorize(limited, 'keys.issue', { team: OWN, role: 'member', models: ['small', 'big'] }).allowed,
    ).toBe(false);
    expect(authorize(limited, 'keys.issue', { team: OWN, role: 'member' }).allowed).toBe(false);
  });

  it('a key limited to some models calls only those', () => {
    const limited: Principal = { ...principals.member, models: ['small'] };
    expect(authorize(limited, 'completions.create', { team: OWN, model: 'small' }).allowed).toBe(true);
    expect(authorize(limited, 'completions.create', { team: OWN, model: 'big' }).allowed).toBe(false);
    expect(authorize(limited, 'batches.create', { team: OWN, model: 'big' }).allowed).toBe(false);
    expect(authorize(principals.member, 'completions.create', { team: OWN, model: 'big' }).allowed).toBe(
      true,
    );
  });

  it('refuses a forged role or action (fail closed)', () => {
    const forged = { keyId: 'x', role: 'super-admin', team: null } as unknown as Principal;
    expect(authorize(forged, 'usage.read', {}).allowed).toBe(false);
    expect(authorize(principals['org-admin'], 'keys.destroy_all' as Action, {}).allowed).toBe(false);
  });

  it('a team-bound role without a team has no own team', () => {
    const orphan: Principal = { keyId: 'x', role: 'member', team: null };
    expect(authorize(orphan, 'completions.create', { team: null }).allowed).toBe(false);
    expect(authorize(orphan, 'completions.create').allowed).toBe(false);
    const orphanAdmin: Principal = { keyId: 'y', role: 'team-admin', team: null };
    expect(authorize(orphanAdmin, 'keys.issue', { team: null, role: 'member' }).allowed).toBe(false);
  });

  it('the refusal names the role and why, with a stable code', () => {
    const decision = authorize(teamAdmin, 'keys.issue', { team: OWN, role: 'team-admin' });
    expect(decision).toEqual({
      allowed: false,
      code: 'permission_denied',
      reason: expect.stringMatching(/team-admin.*member and viewer/),
    });
  });
});

describe('mayEver: what a route decides from the key alone', () => {
  const everyone: Principal[] = [
    ...Object.values(principals),
    { keyId: 'key_narrow', role: 'team-admin', team: OWN, models: ['m1'] },
  ];
  const targets: Target[] = [];
  for (const team of [undefined, null, OWN, OTHER])
    for (const role of [undefined, 'org-admin', 'team-admin', 'member', 'viewer'] as const)
      for (const ownerKeyId of [undefined, 'key_member', 'key_someone'])
        targets.push({
          ...(team !== undefined ? { team } : {}),
          ...(role !== undefined ? { role } : {}),
          ...(ownerKeyId !== undefined ? { ownerKeyId } : {}),
          models: ['m1'],
        });

  it('is false exactly when no target at all is allowed', () => {
    for (const principal of everyone)
      for (const action of ACTIONS) {
        const some = targets.some((target) => authorize(principal, action, target).allowed);
        expect(mayEver(principal, action), `${principal.role}/${String(principal.team)} ${action}`).toBe(
          some,
        );
      }
  });

  it('refuses members every admin action and viewers every change', () => {
    const member = principals.member as Principal;
    const viewer = principals['viewer@team'] as Principal;
    for (const action of [
      'keys.issue',
      'keys.revoke',
      'keys.list',
      'rotations.manage',
      'usage.read',
    ] as const)
      expect(mayEver(member, action), action).toBe(false);
    for (const action of [
      'keys.issue',
      'keys.revoke',
      'keys.list',
      'rotations.manage',
      'batches.create',
    ] as const)
      expect(mayEver(viewer, action), action).toBe(false);
    expect(mayEver(viewer, 'usage.read')).toBe(true);
  });
});
