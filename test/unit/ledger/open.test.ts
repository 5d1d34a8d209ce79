import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashSecret, secretMatches } from '../../../ledger/keys';
import { describeLedgerTarget, resolveLedgerTarget } from '../../../ledger/open';
import { periodOf } from '../../../ledger/period';

describe('choosing the driver', () => {
  const env = { DATABASE_URL: 'postgres://u:pw@db:5432/gg' };

  it('prefers in-memory, then an explicit URL, then DATABASE_URL, then PGlite in <dataDir>/ledger', () => {
    expect(resolveLedgerTarget({ inMemory: true, env })).toEqual({ driver: 'pglite', dataDir: null });
    expect(resolveLedgerTarget({ databaseUrl: 'postgres://x/y', env })).toEqual({
      driver: 'postgres',
      url: 'postgres://x/y',
    });
    expect(resolveLedgerTarget({ env })).toEqual({ driver: 'postgres', url: env.DATABASE_URL });
    expect(resolveLedgerTarget({ env, databaseUrl: null, dataDir: '/srv/gg' })).toEqual({
      driver: 'pglite',
      dataDir: join('/srv/gg', 'ledger'),
    });
    expect(resolveLedgerTarget({ env: {} })).toEqual({ driver: 'pglite', dataDir: join('.data', 'ledger') });
  });

  it('never prints a password', () => {
    expect(describeLedgerTarget({ driver: 'postgres', url: env.DATABASE_URL })).toBe(
      'PostgreSQL at postgres://u:***@db:5432/gg',
    );
  });
});

describe('periods', () => {
  it('are calendar months in the org timezone', () => {
    const instant = new Date('2026-11-30T23:30:00Z');
    expect(periodOf(instant, 'UTC')).toBe('2026-11');
    expect(periodOf(instant, 'Europe/Paris')).toBe('2026-12');
    expect(periodOf(new Date('2027-01-01T05:00:00Z'), 'America/Los_Angeles')).toBe('2026-12');
  });
});

describe('key secrets', () => {
  it('are hashed with SHA-256 and compared by hash', () => {
    expect(hashSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(secretMatches(hashSecret('abc'), 'abc')).toBe(true);
    expect(secretMatches(hashSecret('abc'), 'abd')).toBe(false);
    expect(secretMatches('not-hex', 'abc')).toBe(false);
  });
});
