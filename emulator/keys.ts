/**
 * The organization's API keys, by name. Secrets are looked up on every request and never shown: listings
 * carry a fingerprint (`gsk_…last4`). A revoked key stays known (so its requests are still attributed to
 * its name in the request log) but authenticates nobody.
 */
import { KEY_NAME_PATTERN } from './config';
import { generateKeySecret, KEY_SECRET_PATTERN, keyFingerprint } from './ids';

export interface KeyInfo {
  name: string;
  fingerprint: string;
  active: boolean;
  /** ms since epoch (emulator clock) */
  addedAt: number;
  revokedAt: number | null;
}

interface KeyRecord extends KeyInfo {
  secret: string;
}

export class KeyError extends Error {}

export class KeyRing {
  private readonly byName = new Map<string, KeyRecord>();
  private readonly bySecret = new Map<string, KeyRecord>();

  constructor(private readonly now: () => number) {}

  /**
   * Add a key (a fresh secret is generated when none is given) and return its secret. Re-adding a name
   * replaces that key: the old secret stops working.
   */
  add(
    name: string,
    secret: string = generateKeySecret(),
  ): { name: string; secret: string; fingerprint: string } {
    if (!KEY_NAME_PATTERN.test(name)) throw new KeyError(`invalid key name ${JSON.stringify(name)}`);
    if (!KEY_SECRET_PATTERN.test(secret))
      throw new KeyError('secret must be gsk_ followed by 52 letters or digits');
    const holder = this.bySecret.get(secret);
    if (holder && holder.name !== name)
      throw new KeyError(`that secret already belongs to key ${holder.name}`);
    const previous = this.byName.get(name);
    if (previous) this.bySecret.delete(previous.secret);
    const record: KeyRecord = {
      name,
      secret,
      fingerprint: keyFingerprint(secret),
      active: true,
      addedAt: this.now(),
      revokedAt: null,
    };
    this.byName.set(name, record);
    this.bySecret.set(secret, record);
    return { name, secret, fingerprint: record.fingerprint };
  }

  /** Revoke by name; false when no such key. Revoking twice is harmless. */
  revoke(name: string): boolean {
    const record = this.byName.get(name);
    if (!record) return false;
    if (record.active) {
      record.active = false;
      record.revokedAt = this.now();
    }
    return true;
  }

  /** The key a secret belongs to (active or revoked), if any. */
  lookup(secret: string): KeyInfo | undefined {
    return this.bySecret.get(secret);
  }

  list(): KeyInfo[] {
    return [...this.byName.values()].map(({ name, fingerprint, active, addedAt, revokedAt }) => ({
      name,
      fingerprint,
      active,
      addedAt,
      revokedAt,
    }));
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}

/** The secret from an `Authorization: Bearer <secret>` header. */
export function bearerSecret(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
