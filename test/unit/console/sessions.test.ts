// Console sessions: random ids, an absolute lifetime, a bounded number per process, and CSRF tokens
// compared in constant time.
import { describe, expect, it } from 'vitest';
import { csrfMatches, MAX_SESSIONS, SESSION_TTL_MS, SessionStore } from '../../../client/console/sessions';
import type { Principal } from '../../../domain/rbac';

const principal: Principal = { keyId: 'key_test', role: 'viewer', team: 'alpha' };

describe('console sessions', () => {
  it('lasts exactly its lifetime from sign-in, however often it is used', () => {
    let now = 1_000_000;
    const store = new SessionStore(() => now);
    const { id, session } = store.create('ggk_secret', principal);
    expect(store.get(id)).toBe(session);
    now += SESSION_TTL_MS - 1;
    expect(store.get(id)).toBe(session);
    now += 1;
    expect(store.get(id)).toBeUndefined();
  });

  it('draws a different id and CSRF token every time, and forgets a dropped session', () => {
    const store = new SessionStore();
    const a = store.create('k', principal);
    const b = store.create('k', principal);
    expect(a.id).not.toBe(b.id);
    expect(a.session.csrf).not.toBe(b.session.csrf);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    store.drop(a.id);
    expect(store.get(a.id)).toBeUndefined();
    expect(store.get(b.id)).toBe(b.session);
    expect(store.get(undefined)).toBeUndefined();
    expect(store.get('x'.repeat(500))).toBeUndefined();
  });

  it('keeps at most MAX_SESSIONS, dropping the oldest', () => {
    const store = new SessionStore();
    const first = store.create('k', principal);
    for (let i = 0; i < MAX_SESSIONS; i++) store.create('k', principal);
    expect(store.get(first.id)).toBeUndefined();
  });

  it('accepts only the session’s own CSRF token', () => {
    const { session } = new SessionStore().create('k', principal);
    expect(csrfMatches(session, session.csrf)).toBe(true);
    expect(csrfMatches(session, undefined)).toBe(false);
    expect(csrfMatches(session, '')).toBe(false);
    expect(csrfMatches(session, session.csrf.slice(1))).toBe(false);
    const last = session.csrf.endsWith('A') ? 'B' : 'A';
    expect(csrfMatches(session, `${session.csrf.slice(0, -1)}${last}`)).toBe(false);
  });
});
