/**
 * The gateway key service against a real ledger, run unchanged on PGlite and on PostgreSQL
 * (service.pglite.test.ts, service.postgres.test.ts). The tests share one ledger, emptied before each.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadDefaultConfig, type GovernorConfig } from '../../../domain/config';
import type { Principal } from '../../../domain/rbac';
import type { LedgerStore } from '../../../ledger/store';
import {
  authenticate,
  bootstrapOrgAdmin,
  createAuthenticator,
  DEFAULT_CACHE_TTL_MS,
  GatewayKeyError,
  issueKey,
  listKeys,
  revokeKey,
  type Actor,
  type AuthResult,
} from '../../../client/services/gateway-keys';
import { dumpDatabase, KEY_PATTERN, sha256, type KeyTestTarget } from './harness';

const T0 = new Date('2031-03-01T10:00:00.000Z');

function principal(result: AuthResult): Principal {
  if (!result.ok) throw new Error(`expected a principal, got ${result.code}`);
  return result.principal;
}

/** JSON with bigints (audit ids) as strings. */
function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function secretOf(key: string): string {
  return key.split('_')[2] ?? '';
}

async function refusal(promise: Promise<unknown>): Promise<GatewayKeyError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GatewayKeyError) return error;
    throw error;
  }
  throw new Error('expected a GatewayKeyError, but the call succeeded');
}

export function gatewayKeySuite(target: KeyTestTarget): void {
  describe(`gateway keys on ${target.driver}`, () => {
    let config: GovernorConfig;
    let shared: LedgerStore | undefined;
    /** the suite's ledger, emptied: no keys, no audit entries (TRUNCATE fires no row trigger) */
    const fresh = async (): Promise<LedgerStore> => {
      if (!shared) throw new Error('the ledger did not open');
      await shared.sql.exec('TRUNCATE gateway_keys, audit_log');
      return shared;
    };

    beforeAll(async () => {
      config = (await loadDefaultConfig()).config;
      expect([...config.teams.keys()]).toEqual(expect.arrayContaining(['chatbot', 'analytics']));
      shared = await target.open();
    });
    afterEach(() => {
      vi.restoreAllMocks();
    });
    afterAll(async () => {
      await shared?.close();
      await target.cleanup();
    });

    describe('issue and authenticate', () => {
      it('issues ggk_<12>_<40> keys whose principal carries the id, role, team and models', async () => {
        const ledger = await fresh();
        const { key, record } = await issueKey(
          ledger,
          'operator',
          { team: 'chatbot', role: 'member', name: 'support bot', models: ['llama-3.1-8b-instant'] },
          config,
        );
        expect(key).toMatch(/^ggk_[0-9A-Za-z]{12}_[0-9A-Za-z]{40}$/);
        expect(record).toMatchObject({
          id: `key_${record.publicId}`,
          team: 'chatbot',
          role: 'member',
          name: 'support bot',
          models: ['llama-3.1-8b-instant'],
          expiresAt: null,
          revokedAt: null,
          createdBy: 'operator',
        });
        expect(key.startsWith(`ggk_${record.publicId}_`)).toBe(true);
        expect(record).not.toHaveProperty('secretHash');

        const expected = {
          keyId: record.id,
          role: 'member',
          team: 'chatbot',
          models: ['llama-3.1-8b-instant'],
        };
        expect(await authenticate(ledger, `Bearer ${key}`)).toEqual({ ok: true, principal: expected });
        expect(await authenticate(ledger, key)).toEqual({ ok: true, principal: expected });
        expect(await authenticate(ledger, `bearer   ${key}  `)).toEqual({ ok: true, principal: expected });
        // a key without a model list has no `models` in its principal
        const open2 = await issueKey(ledger, 'operator', { team: 'analytics', role: 'viewer' }, config);
        expect(principal(await authenticate(ledger, open2.key))).toEqual({
          keyId: open2.record.id,
          role: 'viewer',
          team: 'analytics',
        });
      });

      it('draws a different key every time', async () => {
        const ledger = await fresh();
        const keys = new Set<string>();
        for (let i = 0; i < 20; i++)
          keys.add((await issueKey(ledger, 'operator', { team: 'chatbot', role: 'member' }, config)).key);
        expect(keys.size).toBe(20);
        expect(new Set([...keys].map((key) => key.slice(4, 16))).size).toBe(20);
      });

      it('stores only the SHA-256 of the secret: the plaintext appears in no table', async () => {
        const ledger = await fresh();
        const issued = await issueKey(
          ledger,
          'operator',
          { team: 'chatbot', role: 'team-admin', expiresIn: '30d' },
          config,
        );
        const boot = await bootstrapOrgAdmin(ledger, { name: 'root' });
        await authenticate(ledger, issued.key);
        await revokeKey(ledger, 'operator', issued.record.id);

        const { rows } = await ledger.sql.query<{ secret_hash: string }>(
          'SELECT secret_hash FROM gateway_keys WHERE id = $1',
          [issued.record.id],
        );
        expect(rows[0]?.secret_hash).toBe(sha256(secretOf(issued.key)));

        const everything = await dumpDatabase(ledger);
        expect(everything).toContain(issued.record.publicId); // the dump really has the key's row
        for (const { key } of [issued, boot]) {
          expect(everything).not.toContain(key);
          expect(everything).not.toContain(secretOf(key));
          expect(everything).not.toContain(secretOf(key).slice(0, 16));
        }
        expect(everything.match(KEY_PATTERN)).toBeNull();
      });

      it('writes last_used_at at most once per minute per key, however many requests', async () => {
        const ledger = await fresh();
        const { key, record } = await issueKey(
          ledger,
          'operator',
          { team: 'chatbot', role: 'member' },
          config,
        );
        let now = T0.getTime();
        const auth = createAuthenticator(ledger, { now: () => now });
        const touch = vi.spyOn(ledger, 'touchGatewayKey');

        for (let i = 0; i < 50; i++) expect((await auth.authenticate(key)).ok).toBe(true);
        expect(touch).toHaveBeenCalledTimes(1);
        expect((await ledger.getGatewayKey(record.id))?.lastUsedAt).toEqual(T0);

        now += 30_000; // the cache has expired (re-read from the ledger), the minute has not
        for (let i = 0; i < 50; i++) expect((await auth.authenticate(key)).ok).toBe(true);
        expect(touch).toHaveBeenCalledTimes(1);

        now += 30_000; // one minute after the first write
        expect((await auth.authenticate(key)).ok).toBe(true);
        expect(touch).toHaveBeenCalledTimes(2);
        expect((await ledger.getGatewayKey(record.id))?.lastUsedAt).toEqual(new Date(now));

        // a second process (another authenticator) that reads the key sees the recent write: no extra write
        const other = createAuthenticator(ledger, { now: () => now + 1_000 });
        expect((await other.authenticate(key)).ok).toBe(true);
        expect(touch).toHaveBeenCalledTimes(2);
      });

      it('reads the ledger once per key and TTL, also for concurrent requests', async () => {
        const ledger = await fresh();
        const { key } = await issueKey(ledger, 'operator', { team: 'chatbot', role: 'member' }, config);
        let now = T0.getTime();
        const auth = createAuthenticator(ledger, { now: () => now });
        const find = vi.spyOn(ledger, 'findGatewayKeyByPrefix');
        const results = await Promise.all(Array.from({ length: 20 }, () => auth.authenticate(key)));
        expect(results.every((result) => result.ok)).toBe(true);
        expect(find).toHaveBeenCalledTimes(1);
        now += DEFAULT_CACHE_TTL_MS - 1;
        await auth.authenticate(key);
        expect(find).toHaveBeenCalledTimes(1);
        now += 1;
        await auth.authenticate(key);
        expect(find).toHaveBeenCalledTimes(2);
      });
    });

    describe('refusals', () => {
      it('refuses forged, malformed, truncated, unicode and huge keys as invalid_api_key without echoing them', async () => {
        const ledger = await fresh();
        const { key, record } = await issueKey(
          ledger,
          'operator',
          { team: 'chatbot', role: 'member' },
          config,
        );
        const other = await issueKey(ledger, 'operator', { team: 'analytics', role: 'member' }, config);
        const secret = secretOf(key);
        const flip = (c: string) => (c === 'a' ? 'b' : 'a');
        const forged: Array<[string, string | null | undefined]> = [
          ['right prefix, wrong secret', `ggk_${record.publicId}_${'A'.repeat(40)}`],
          ['right prefix, last character changed', key.slice(0, -1) + flip(key.at(-1) ?? '')],
          ['right prefix, another key’s secret', `ggk_${record.publicId}_${secretOf(other.key)}`],
          ['truncated by one', key.slice(0, -1)],
          ['truncated to the prefix', `ggk_${record.publicId}_`],
          ['one character too many', `${key}x`],
          ['unknown prefix', `ggk_${'Z'.repeat(12)}_${secret}`],
          ['Cyrillic look-alike in the secret', key.slice(0, -1) + 'а'],
          ['full-width digit in the prefix', `ggk_${record.publicId.slice(0, -1)}１_${secret}`],
          ['emoji', `ggk_${record.publicId}_${secret.slice(0, 38)}🔑`],
          ['zero-width space inside', `${key.slice(0, 20)}\u200b${key.slice(20)}`],
          ['NUL inside', `${key.slice(0, 20)}\u0000${key.slice(21)}`],
          ['upper-case key scheme', key.replace('ggk_', 'GGK_')],
          ['another scheme', `Basic ${key}`],
          ['two keys', `Bearer ${key} ${key}`],
          ['a huge header', `Bearer ${key}${'x'.repeat(1_000_000)}`],
          ['a huge header of spaces', `${' '.repeat(1_000_000)}${key}`],
          ['empty', ''],
          ['only the scheme', 'Bearer '],
          ['null', null],
          ['undefined', undefined],
          ['SQL in the prefix', `ggk_' OR 1=1 --_${secret}`],
        ];
        for (const [what, presented] of forged) {
          const result = await authenticate(ledger, presented);
          expect(result, what).toEqual({ ok: false, code: 'invalid_api_key', message: expect.any(String) });
          if (!result.ok) {
            expect(result.message, what).not.toContain(record.publicId);
            expect(result.message, what).not.toContain(secret.slice(0, 8));
            expect(result.message.length, what).toBeLessThan(200);
          }
        }
        // and the real key still works
        expect((await authenticate(ledger, key)).ok).toBe(true);
      });

      it('refuses a revoked key at once in this process, and says so only to the holder of the secret', async () => {
        const ledger = await fresh();
        const { key, record } = await issueKey(
          ledger,
          'operator',
          { team: 'chatbot', role: 'member' },
          config,
        );
        expect((await authenticate(ledger, key)).ok).toBe(true); // now cached
        const { changed } = await revokeKey(ledger, 'operator', record.id);
        expect(changed).toBe(true);
        expect(await authenticate(ledger, key)).toEqual({
          ok: false,
          code: 'revoked_api_key',
          message: expect.stringMatching(/revoked/),
        });
        const wrong = `ggk_${record.publicId}_${'B'.repeat(40)}`;
        expect(await authenticate(ledger, wrong)).toMatchObject({ ok: false, code: 'invalid_api_key' });
      });

      it('a revocation made elsewhere takes effect within the cache TTL, never later', async () => {
        const ledger = await fresh();
        const { key, record } = await issueKey(
          ledger,
          'operator',
          { team: 'chatbot', role: 'member' },
          config,
        );
        let now = T0.getTime();
        const auth = createAuthenticator(ledger, { now: () => now });
        expect((await auth.authenticate(key)).ok).toBe(true);
        // another process revokes: straight in the database, this process's cache is not told
        await ledger.revokeGatewayKey(record.id, new Date(now));
        now += DEFAULT_CACHE_TTL_MS - 1;
        expect((await auth.authenticate(key)).ok).toBe(true); // the documented window
        now += 1;
        expect(await auth.authenticate(key)).toMatchObject({ ok: false, code: 'revoked_api_key' });
      });

      it('refuses an expired key from the instant it expires, cached or not', async () => {
        const ledger = await fresh();
        const { key, record } = await issueKey(
          ledger,
          'operator',
          { team: 'chatbot', role: 'member', expiresIn: '12h' },
          config,
          { now: T0 },
        );
        expect(record.expiresAt).toEqual(new Date(T0.getTime() + 12 * 3_600_000));
        let now = T0.getTime() + 12 * 3_600_000 - 1;
        const auth = createAuthenticator(ledger, { now: () => now });
        expect((await auth.authenticate(key)).ok).toBe(true);
        now += 1; // still within the cache TTL of the lookup above
        expect(await auth.authenticate(key)).toEqual({
          ok: false,
          code: 'expired_api_key',
          message: expect.stringMatching(/expired/),
        });
        expect(await auth.authenticate(`ggk_${record.publicId}_${'C'.repeat(40)}`)).toMatchObject({
          code: 'invalid_api_key',
        });
      });
    });

    describe('audit', () => {
      it('records issue and revoke with who, when, before and after, and never the secret or its hash', async () => {
        const ledger = await fresh();
        const issuedAt = new Date('2031-03-01T10:00:00Z');
        const { key, record } = await issueKey(
          ledger,
          'operator',
          { team: 'chatbot', role: 'viewer', name: 'dashboards', expiresIn: '30d' },
          config,
          { now: issuedAt, auditActor: 'cli:alice' },
        );
        const revokedAt = new Date('2031-03-02T08:00:00Z');
        await revokeKey(ledger, 'operator', record.id, { now: revokedAt, auditActor: 'cli:bob' });
        // revoking again changes nothing and writes nothing
        expect((await revokeKey(ledger, 'operator', record.id, { auditActor: 'cli:bob' })).changed).toBe(
          false,
        );

        const entries = await ledger.listAudit({ target: `gateway_key:${record.id}` });
        expect(entries.map((entry) => [entry.action, entry.actor])).toEqual([
          ['keys.revoke', 'cli:bob'],
          ['keys.issue', 'cli:alice'],
        ]);
        const [revoke, issue] = entries;
        expect(issue?.at).toEqual(issuedAt);
        expect(issue?.before).toBeNull();
        expect(issue?.after).toMatchObject({
          id: record.id,
          publicId: record.publicId,
          team: 'chatbot',
          role: 'viewer',
          name: 'dashboards',
          expiresAt: '2031-03-31T10:00:00.000Z',
          revokedAt: null,
          createdBy: 'cli:alice',
        });
        expect(revoke?.at).toEqual(revokedAt);
        expect(revoke?.before).toMatchObject({ id: record.id, revokedAt: null });
        expect(revoke?.after).toMatchObject({ id: record.id, revokedAt: revokedAt.toISOString() });

        const text = jsonText(entries);
        expect(text).not.toContain(secretOf(key));
        expect(text).not.toContain(sha256(secretOf(key)));
        expect(text).not.toMatch(/secret/i);
      });
    });

    describe('RBAC in the service', () => {
      async function setUp() {
        const ledger = await fresh();
        const root = await bootstrapOrgAdmin(ledger, { name: 'root' });
        const orgAdmin = principal(await authenticate(ledger, root.key));
        const chatAdminKey = await issueKey(
          ledger,
          orgAdmin,
          { team: 'chatbot', role: 'team-admin' },
          config,
        );
        const chatAdmin = principal(await authenticate(ledger, chatAdminKey.key));
        const anaMemberKey = await issueKey(ledger, orgAdmin, { team: 'analytics', role: 'member' }, config);
        const chatMemberKey = await issueKey(ledger, chatAdmin, { team: 'chatbot', role: 'member' }, config);
        const chatMember = principal(await authenticate(ledger, chatMemberKey.key));
        return { ledger, root, orgAdmin, chatAdminKey, chatAdmin, anaMemberKey, chatMemberKey, chatMember };
      }

      it('an org-admin issues any role; the issuer is recorded as its key', async () => {
        const { ledger, orgAdmin, chatAdminKey, root } = await setUp();
        expect(chatAdminKey.record.createdBy).toBe(`key:${root.record.id}`);
        const second = await issueKey(ledger, orgAdmin, { team: null, role: 'org-admin' }, config);
        expect(second.record).toMatchObject({ role: 'org-admin', team: null });
        const orgViewer = await issueKey(ledger, orgAdmin, { team: null, role: 'viewer' }, config);
        expect(principal(await authenticate(ledger, orgViewer.key))).toMatchObject({
          role: 'viewer',
          team: null,
        });
      });

      it('a team-admin issues member and viewer keys of its own team and nothing else', async () => {
        const { ledger, chatAdmin, chatAdminKey } = await setUp();
        const viewer = await issueKey(ledger, chatAdmin, { team: 'chatbot', role: 'viewer' }, config);
        expect(viewer.record).toMatchObject({
          team: 'chatbot',
          role: 'viewer',
          createdBy: `key:${chatAdminKey.record.id}`,
        });

        const attempts: Array<
          [string, { team: string | null; role: 'org-admin' | 'team-admin' | 'member' | 'viewer' }]
        > = [
          ['team-admin of its team', { team: 'chatbot', role: 'team-admin' }],
          ['org-admin', { team: null, role: 'org-admin' }],
          ['member of another team', { team: 'analytics', role: 'member' }],
          ['org-level viewer', { team: null, role: 'viewer' }],
          ['team-admin of another team', { team: 'analytics', role: 'team-admin' }],
        ];
        const before = (await ledger.listGatewayKeys({ includeRevoked: true })).length;
        for (const [what, request] of attempts) {
          const error = await refusal(issueKey(ledger, chatAdmin, request, config));
          expect(error.code, what).toBe('permission_denied');
        }
        expect((await ledger.listGatewayKeys({ includeRevoked: true })).length).toBe(before);
        // each refused attempt is in the audit log under the key that tried
        const denied = await ledger.listAudit({
          actor: `key:${chatAdminKey.record.id}`,
          action: 'keys.issue.denied',
        });
        expect(denied).toHaveLength(attempts.length);
        expect(denied.map((entry) => entry.target)).toEqual(
          expect.arrayContaining(['team:chatbot', 'org', 'team:analytics']),
        );
      });

      it('members and viewers issue, revoke and list nothing', async () => {
        const { ledger, chatMember, chatMemberKey, orgAdmin } = await setUp();
        const viewerKey = await issueKey(ledger, orgAdmin, { team: 'chatbot', role: 'viewer' }, config);
        const viewer = principal(await authenticate(ledger, viewerKey.key));
        for (const actor of [chatMember, viewer]) {
          expect(
            (await refusal(issueKey(ledger, actor, { team: 'chatbot', role: 'viewer' }, config))).code,
          ).toBe('permission_denied');
          expect((await refusal(revokeKey(ledger, actor, chatMemberKey.record.id))).code).toBe(
            'permission_denied',
          );
          expect((await refusal(listKeys(ledger, actor))).code).toBe('permission_denied');
        }
        expect((await ledger.getGatewayKey(chatMemberKey.record.id))?.revokedAt).toBeNull();
      });

      it('a team-admin revokes member and viewer keys of its team only', async () => {
        const { ledger, orgAdmin, chatAdmin, chatMemberKey, anaMemberKey, root } = await setUp();
        const otherAdmin = await issueKey(ledger, orgAdmin, { team: 'chatbot', role: 'team-admin' }, config);
        for (const id of [anaMemberKey.record.id, otherAdmin.record.id, root.record.id]) {
          expect((await refusal(revokeKey(ledger, chatAdmin, id))).code).toBe('permission_denied');
          expect((await ledger.getGatewayKey(id))?.revokedAt).toBeNull();
        }
        const { record, changed } = await revokeKey(ledger, chatAdmin, chatMemberKey.record.id);
        expect(changed).toBe(true);
        expect(record.revokedAt).not.toBeNull();
        expect(await authenticate(ledger, chatMemberKey.key)).toMatchObject({ code: 'revoked_api_key' });
        // an org-admin revokes anything, org-admin keys included
        expect((await revokeKey(ledger, orgAdmin, otherAdmin.record.id)).changed).toBe(true);
        expect((await refusal(revokeKey(ledger, orgAdmin, 'key_doesnotexist'))).code).toBe('key_not_found');
      });

      it('lists by role: a team-admin sees its own team only, and no one sees hashes', async () => {
        const { ledger, orgAdmin, chatAdmin, chatMember } = await setUp();
        const all = await listKeys(ledger, orgAdmin);
        expect(new Set(all.map((key) => key.team))).toEqual(new Set([null, 'chatbot', 'analytics']));
        const own = await listKeys(ledger, chatAdmin);
        expect(own.length).toBeGreaterThanOrEqual(2);
        expect(own.every((key) => key.team === 'chatbot')).toBe(true);
        expect(own.map((key) => key.id)).toContain(chatMember.keyId);
        expect(await listKeys(ledger, chatAdmin, { team: 'chatbot' })).toEqual(own);
        expect((await refusal(listKeys(ledger, chatAdmin, { team: 'analytics' }))).code).toBe(
          'permission_denied',
        );
        expect((await refusal(listKeys(ledger, chatAdmin, { team: null }))).code).toBe('permission_denied');
        expect((await listKeys(ledger, orgAdmin, { team: 'analytics' })).map((key) => key.team)).toEqual([
          'analytics',
        ]);
        for (const key of [...all, ...own]) {
          expect(key).not.toHaveProperty('secretHash');
          expect(JSON.stringify(key)).not.toMatch(/[0-9a-f]{64}/);
        }
      });

      it('lists revoked and expired keys only when asked, each with its status', async () => {
        const { ledger, chatMemberKey } = await setUp();
        const expiring = await issueKey(
          ledger,
          'operator',
          { team: 'chatbot', role: 'viewer', expiresIn: '1h' },
          config,
          { now: new Date(Date.now() - 2 * 3_600_000) },
        );
        await revokeKey(ledger, 'operator', chatMemberKey.record.id);
        const active = await listKeys(ledger, 'operator', { team: 'chatbot' });
        expect(active.map((key) => key.id)).not.toContain(chatMemberKey.record.id);
        expect(active.map((key) => key.id)).not.toContain(expiring.record.id);
        expect(active.every((key) => key.status === 'active')).toBe(true);
        const everything = await listKeys(ledger, 'operator', { team: 'chatbot', includeInactive: true });
        const status = Object.fromEntries(everything.map((key) => [key.id, key.status]));
        expect(status[chatMemberKey.record.id]).toBe('revoked');
        expect(status[expiring.record.id]).toBe('expired');
      });

      it('keeps a narrower model list from widening', async () => {
        const { ledger, orgAdmin } = await setUp();
        const limitedAdminKey = await issueKey(
          ledger,
          orgAdmin,
          { team: 'chatbot', role: 'team-admin', models: ['llama-3.1-8b-instant'] },
          config,
        );
        const limitedAdmin = principal(await authenticate(ledger, limitedAdminKey.key));
        expect(limitedAdmin.models).toEqual(['llama-3.1-8b-instant']);
        // no list asked for: the new key inherits the issuer's
        const inherited = await issueKey(ledger, limitedAdmin, { team: 'chatbot', role: 'member' }, config);
        expect(inherited.record.models).toEqual(['llama-3.1-8b-instant']);
        const wider = refusal(
          issueKey(
            ledger,
            limitedAdmin,
            { team: 'chatbot', role: 'member', models: ['llama-3.3-70b-versatile'] },
            config,
          ),
        );
        expect((await wider).code).toBe('permission_denied');
      });

      it('validates the request against the configuration', async () => {
        const ledger = await fresh();
        const cases: Array<[string, Parameters<typeof issueKey>[2], RegExp]> = [
          ['unknown team', { team: 'nope', role: 'member' }, /unknown team "nope"/],
          [
            'model outside the team',
            { team: 'analytics', role: 'member', models: ['llama-3.3-70b-versatile'] },
            /may not use/,
          ],
          ['empty model list', { team: 'chatbot', role: 'member', models: [] }, /at least one model/],
          ['org-admin with a team', { team: 'chatbot', role: 'org-admin' }, /no team/],
          ['team-admin without a team', { team: null, role: 'team-admin' }, /needs a team/],
          ['member without a team', { team: null, role: 'member' }, /needs a team/],
          ['unknown role', { team: 'chatbot', role: 'owner' as never }, /unknown role/],
          ['bad duration', { team: 'chatbot', role: 'member', expiresIn: 'soon' }, /not a positive duration/],
          ['zero duration', { team: 'chatbot', role: 'member', expiresIn: '0d' }, /not a positive duration/],
          [
            'models on an org key',
            { team: null, role: 'viewer', models: ['llama-3.1-8b-instant'] },
            /team keys only/,
          ],
          ['control characters', { team: 'chatbot', role: 'member', name: 'a\nb' }, /control characters/],
        ];
        for (const [what, request, message] of cases) {
          const error = await refusal(issueKey(ledger, 'operator', request, config));
          expect(error.code, what).toBe('invalid_request');
          expect(error.message, what).toMatch(message);
        }
        expect(await ledger.listGatewayKeys({ includeRevoked: true })).toEqual([]);
      });

      it('does not tell a refused caller about the configuration', async () => {
        const { ledger, chatMember } = await setUp();
        const error = await refusal(issueKey(ledger, chatMember, { team: 'nope', role: 'member' }, config));
        expect(error.code).toBe('permission_denied');
      });
    });

    describe('bootstrap', () => {
      it('creates the first org-admin once; again only with force or when none is active', async () => {
        const ledger = await fresh();
        const first = await bootstrapOrgAdmin(ledger, { name: 'first', auditActor: 'cli:alice' });
        expect(first.record).toMatchObject({
          role: 'org-admin',
          team: null,
          name: 'first',
          createdBy: 'cli:alice',
        });
        expect(principal(await authenticate(ledger, first.key))).toEqual({
          keyId: first.record.id,
          role: 'org-admin',
          team: null,
        });

        const again = await refusal(bootstrapOrgAdmin(ledger));
        expect(again.code).toBe('already_bootstrapped');
        expect(again.message).toContain(first.record.id);

        const forced = await bootstrapOrgAdmin(ledger, { force: true });
        expect(forced.record.id).not.toBe(first.record.id);

        await revokeKey(ledger, 'operator', first.record.id);
        await revokeKey(ledger, 'operator', forced.record.id);
        const afterRevocation = await bootstrapOrgAdmin(ledger);
        expect(afterRevocation.record.role).toBe('org-admin');

        const audit = await ledger.listAudit({ action: 'keys.bootstrap' });
        expect(audit.map((entry) => (entry.after as { forced: boolean }).forced)).toEqual([
          false,
          true,
          false,
        ]);
        expect(jsonText(audit)).not.toContain(secretOf(first.key));
      });

      it('does not count an expired org-admin key as active', async () => {
        const ledger = await fresh();
        await issueKey(ledger, 'operator', { team: null, role: 'org-admin', expiresIn: '1h' }, config, {
          now: new Date(Date.now() - 2 * 3_600_000),
        });
        const viewer = await issueKey(ledger, 'operator', { team: null, role: 'viewer' }, config);
        expect(viewer.record.role).toBe('viewer');
        expect((await bootstrapOrgAdmin(ledger)).record.role).toBe('org-admin');
      });

      it('issues exactly one key when several bootstraps race', async () => {
        const ledger = await fresh();
        const results = await Promise.allSettled(Array.from({ length: 6 }, () => bootstrapOrgAdmin(ledger)));
        const won = results.filter((result) => result.status === 'fulfilled');
        const lost = results.filter((result) => result.status === 'rejected');
        expect(won).toHaveLength(1);
        for (const result of lost)
          expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'already_bootstrapped' });
        expect(
          (await ledger.listGatewayKeys({ team: null })).filter((key) => key.role === 'org-admin'),
        ).toHaveLength(1);
      });
    });

    describe('revocation races', () => {
      it('audits a key revoked by several callers at once exactly once', async () => {
        const ledger = await fresh();
        const { record } = await issueKey(ledger, 'operator', { team: 'chatbot', role: 'member' }, config);
        const actors: Actor[] = ['operator', 'operator', 'operator', 'operator'];
        const results = await Promise.all(actors.map((actor) => revokeKey(ledger, actor, record.id)));
        expect(results.filter((result) => result.changed)).toHaveLength(1);
        expect(
          await ledger.listAudit({ action: 'keys.revoke', target: `gateway_key:${record.id}` }),
        ).toHaveLength(1);
      });
    });
  });
}
