/** Gateway keys (only the hash is stored) and the append-only audit log. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GatewayKeyNotFoundError } from '../../../ledger/errors';
import { secretMatches } from '../../../ledger/keys';
import type { LedgerStore } from '../../../ledger/store';
import { uniqueNames } from './harness';

export function keyAndAuditTests(ledger: () => LedgerStore): void {
  describe('gateway keys', () => {
    it('stores the SHA-256 of the secret and never the secret', async () => {
      const t = uniqueNames('keys');
      const store = ledger();
      const secret = `ggk_${t.tag}_s3cr3t-value-that-must-not-leak`;
      const key = await store.createGatewayKey({
        id: t.id('key'),
        prefix: t.id('ggk'),
        secret,
        team: t.team('chatbot'),
        role: 'member',
        name: 'ci bot',
        models: ['llama-3.1-8b-instant', 'openai/gpt-oss-20b'],
        expiresAt: new Date('2027-01-01T00:00:00Z'),
        createdBy: 'alice',
      });
      expect(key.secretHash).toBe(createHash('sha256').update(secret).digest('hex'));
      expect(key.models).toEqual(['llama-3.1-8b-instant', 'openai/gpt-oss-20b']);
      // no column of the stored row contains the secret or any long piece of it
      const { rows } = await store.sql.query('SELECT * FROM gateway_keys WHERE id = $1', [key.id]);
      const stored = JSON.stringify(rows[0]);
      expect(stored).not.toContain(secret);
      expect(stored).not.toContain('s3cr3t-value');

      const found = await store.findGatewayKeyByPrefix(t.id('ggk'));
      expect(found).toEqual(key);
      expect(found && secretMatches(found.secretHash, secret)).toBe(true);
      expect(found && secretMatches(found.secretHash, secret + 'x')).toBe(false);
      expect(await store.findGatewayKeyByPrefix(t.id('missing'))).toBeNull();
    });

    it('revokes idempotently, lists live keys, and moves last-used forward only', async () => {
      const t = uniqueNames('keys-life');
      const store = ledger();
      const team = t.team('search');
      const make = (n: number, role: 'org-admin' | 'team-admin' | 'viewer', forTeam: string | null) =>
        store.createGatewayKey({
          id: t.id(`k${n}`),
          prefix: t.id(`p${n}`),
          secret: `secret-${n}`,
          team: forTeam,
          role,
          name: `key ${n}`,
          createdBy: 'alice',
          createdAt: new Date(Date.UTC(2026, 10, 1, 0, n)),
        });
      await make(1, 'team-admin', team);
      await make(2, 'viewer', team);
      await make(3, 'org-admin', null);
      const revokedAt = new Date('2026-11-05T00:00:00Z');
      expect((await store.revokeGatewayKey(t.id('k2'), revokedAt)).revokedAt).toEqual(revokedAt);
      expect((await store.revokeGatewayKey(t.id('k2'), new Date('2026-12-01T00:00:00Z'))).revokedAt).toEqual(
        revokedAt,
      );
      await expect(store.revokeGatewayKey(t.id('nope'))).rejects.toThrow(GatewayKeyNotFoundError);

      expect((await store.listGatewayKeys({ team })).map((k) => k.id)).toEqual([t.id('k1')]);
      expect((await store.listGatewayKeys({ team, includeRevoked: true })).map((k) => k.id)).toEqual([
        t.id('k1'),
        t.id('k2'),
      ]);
      expect((await store.listGatewayKeys({ team: null })).map((k) => k.id)).toContain(t.id('k3'));

      const later = new Date('2026-11-10T00:00:00Z');
      await store.touchGatewayKey(t.id('k1'), later);
      await store.touchGatewayKey(t.id('k1'), new Date('2026-11-09T00:00:00Z'));
      expect((await store.getGatewayKey(t.id('k1')))?.lastUsedAt).toEqual(later);
    });

    it('enforces roles, unique prefixes and hashes in the schema too', async () => {
      const t = uniqueNames('keys-rules');
      const store = ledger();
      const base = { secret: 's', name: 'n', createdBy: 'alice' };
      await expect(
        store.createGatewayKey({ ...base, id: t.id('a'), prefix: t.id('a'), team: 'x', role: 'org-admin' }),
      ).rejects.toThrow(/org-admin/);
      await expect(
        store.createGatewayKey({ ...base, id: t.id('b'), prefix: t.id('b'), team: null, role: 'team-admin' }),
      ).rejects.toThrow(/team-admin/);
      await store.createGatewayKey({
        ...base,
        id: t.id('c'),
        prefix: t.id('shared'),
        team: null,
        role: 'viewer',
      });
      await expect(
        store.createGatewayKey({
          ...base,
          id: t.id('d'),
          prefix: t.id('shared'),
          team: null,
          role: 'viewer',
        }),
      ).rejects.toThrow();
      // bypassing the store: the table itself refuses a secret in place of a hash
      await expect(
        store.sql.query(
          `INSERT INTO gateway_keys (id, prefix, secret_hash, role, name, created_by) VALUES ($1, $2, $3, 'viewer', 'n', 'x')`,
          [t.id('e'), t.id('e'), 'plain-secret'],
        ),
      ).rejects.toThrow();
    });
  });

  describe('audit log', () => {
    it('appends entries with before/after JSON and lists them newest first', async () => {
      const t = uniqueNames('audit');
      const store = ledger();
      const target = `team:${t.team('chatbot')}`;
      const at = new Date('2026-11-04T12:00:00Z');
      const first = await store.appendAudit({
        actor: 'alice',
        action: 'budget.set',
        target,
        before: { limitNanos: 9_007_199_254_740_993n },
        after: { limitNanos: 10_000_000_000_000_000n, note: 'raised' },
        at,
      });
      expect(first).toMatchObject({
        actor: 'alice',
        at,
        before: { limitNanos: '9007199254740993' },
        after: { limitNanos: '10000000000000000', note: 'raised' },
      });
      await store.appendAudit({ actor: 'bob', action: 'team.pause', target, after: { paused: true } });
      await store.appendAudit({ actor: 'bob', action: 'key.revoke', target: t.id('key') });

      const forTarget = await store.listAudit({ target });
      expect(forTarget.map((e) => e.action)).toEqual(['team.pause', 'budget.set']);
      expect(forTarget[0]?.before).toBeNull();
      const byBob = await store.listAudit({ actor: 'bob', limit: 1 });
      expect(byBob).toHaveLength(1);
      const older = await store.listAudit({ target, beforeId: forTarget[0]?.id ?? 0n });
      expect(older.map((e) => e.id)).toEqual([first.id]);
    });

    it('is append-only: the table refuses updates and deletes', async () => {
      const store = ledger();
      const entry = await store.appendAudit({ actor: 'mallory', action: 'x', target: 'y' });
      await expect(
        store.sql.query("UPDATE audit_log SET actor = 'eve' WHERE id = $1", [entry.id]),
      ).rejects.toThrow(/append-only/);
      await expect(store.sql.query('DELETE FROM audit_log WHERE id = $1', [entry.id])).rejects.toThrow(
        /append-only/,
      );
    });
  });
}
