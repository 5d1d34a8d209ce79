/**
 * Console sessions: a gateway key is exchanged once for a random session id, kept by the browser in an
 * HttpOnly, SameSite=Strict cookie. The session lives in this gateway process's memory only (the key
 * never goes back to the browser); every request re-checks the key with the gateway's authenticator, so
 * a revoked or expired key ends its sessions as it ends its API calls. Each session has its own CSRF token,
 * checked on every POST.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../../domain/rbac';

/** How long a session lasts from sign-in (absolute, not extended by use). */
export const SESSION_TTL_MS = 30 * 60_000;
/** At most this many live sessions per process; the oldest goes first. */
export const MAX_SESSIONS = 10_000;
export const COOKIE = 'gg_console';

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
  /** a newly issued key, shown exactly once */
  secret?: string;
}

export interface ConsoleSession {
  csrf: string;
  /** the gateway key, kept only here to re-check it on each request */
  key: string;
  principal: Principal;
  expiresAt: number;
  flash?: Flash;
}

const digest = (id: string) => createHash('sha256').update(id).digest('base64url');

export class SessionStore {
  /** by the SHA-256 of the session id, so a heap dump does not hand out cookies */
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(private readonly now: () => number = Date.now) {}

  create(key: string, principal: Principal): { id: string; session: ConsoleSession } {
    this.sweep();
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    const session: ConsoleSession = {
      csrf: randomBytes(32).toString('base64url'),
      key,
      principal,
      expiresAt: this.now() + SESSION_TTL_MS,
    };
    this.sessions.set(digest(id), session);
    return { id, session };
  }

  get(id: string | undefined): ConsoleSession | undefined {
    if (!id || id.length > 100) return undefined;
    const session = this.sessions.get(digest(id));
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(digest(id));
      return undefined;
    }
    return session;
  }

  drop(id: string | undefined): void {
    if (id) this.sessions.delete(digest(id));
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
  }
}

/** Constant-time comparison of the posted CSRF token with the session's. */
export function csrfMatches(session: ConsoleSession, posted: string | undefined): boolean {
  if (typeof posted !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(posted);
  return a.length === b.length && timingSafeEqual(a, b);
}
