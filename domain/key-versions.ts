/**
 * Versions of an upstream key and their states, as pure data. Every change of a version's state is one
 * append-only event (stored in the audit log, see ledger/key-versions.ts); the current states are the
 * fold of those events in order. One event per transition makes every transition atomic: a promotion
 * moves the old version to `retiring` and the new one to `active` in the same event.
 *
 *   active    serves new requests (at most one per key name)
 *   next      added, not yet serving; a canary share of new requests when a rotation sets one
 *   retiring  the previous version during a rotation: valid, serves in-flight requests and failover only
 *   revoked   never served again
 *
 * A version is also `suspect` after Groq answered 401 for it: it is avoided whenever another valid
 * version exists, until it is validated or promoted again.
 */
export const KEY_VERSION_STATES = ['active', 'next', 'retiring', 'revoked'] as const;
export type KeyVersionState = (typeof KEY_VERSION_STATES)[number];

export interface KeyVersion {
  version: number;
  state: KeyVersionState;
  /** `gsk_…last4` */
  fingerprint: string;
  suspect: boolean;
  /** a live call with this version succeeded (and nothing marked it suspect since) */
  validated: boolean;
  /** whole percent of new requests a `next` version takes during a canary; 0 otherwise */
  canaryPercent: number;
}

/** The events of one key name; the audit action is `upstream_key.<kind>`. */
export type KeyVersionEvent =
  | { kind: 'add'; version: number; fingerprint: string; state: 'active' | 'next' }
  | { kind: 'validated'; version: number }
  | { kind: 'canary'; version: number; percent: number }
  | { kind: 'promote'; active: number; retiring: number | null }
  | { kind: 'rollback'; active: number; demoted: number }
  | { kind: 'revoke'; version: number }
  | { kind: 'suspect'; version: number; status: number };

export const KEY_VERSION_EVENT_KINDS = [
  'add',
  'validated',
  'canary',
  'promote',
  'rollback',
  'revoke',
  'suspect',
] as const;

/** What may be shown of a secret: `gsk_…` and its last four characters. */
export function secretFingerprint(secret: string): string {
  return `gsk_…${secret.slice(-4)}`;
}

/** The states after `events`, in order. Events naming unknown versions are ignored. */
export function foldKeyVersions(events: readonly KeyVersionEvent[]): KeyVersion[] {
  const versions = new Map<number, KeyVersion>();
  const set = (version: number, change: Partial<KeyVersion>) => {
    const current = versions.get(version);
    if (current) versions.set(version, { ...current, ...change });
  };
  for (const event of events) {
    switch (event.kind) {
      case 'add':
        if (event.state === 'active') {
          for (const other of versions.values())
            if (other.state === 'active') set(other.version, { state: 'retiring' });
        }
        versions.set(event.version, {
          version: event.version,
          state: event.state,
          fingerprint: event.fingerprint,
          suspect: false,
          validated: false,
          canaryPercent: 0,
        });
        break;
      case 'validated':
        set(event.version, { validated: true, suspect: false });
        break;
      case 'canary':
        set(event.version, { canaryPercent: event.percent });
        break;
      case 'promote':
        if (event.retiring !== null) set(event.retiring, { state: 'retiring', canaryPercent: 0 });
        set(event.active, { state: 'active', canaryPercent: 0, suspect: false });
        break;
      case 'rollback':
        set(event.demoted, { state: 'next', canaryPercent: 0 });
        set(event.active, { state: 'active', canaryPercent: 0 });
        break;
      case 'revoke':
        set(event.version, { state: 'revoked', canaryPercent: 0 });
        break;
      case 'suspect':
        set(event.version, { suspect: true, validated: false });
        break;
    }
  }
  return [...versions.values()].sort((a, b) => a.version - b.version);
}

/**
 * The version a new request uses. `draw` is a number in [0, 100) (random per request) that decides the
 * canary share. Suspect versions are avoided while any valid alternative exists: the active one, else a
 * retiring one, else a validated next one (failover). Null when the name has no servable version.
 */
export function chooseVersion(versions: readonly KeyVersion[], draw: number): KeyVersion | null {
  const live = versions.filter((v) => v.state !== 'revoked');
  const active = live.find((v) => v.state === 'active');
  const canary = live.find((v) => v.state === 'next' && v.canaryPercent > 0 && !v.suspect);
  if (canary && (!active || draw < canary.canaryPercent)) return canary;
  if (active && !active.suspect) return active;
  const failover =
    live.filter((v) => v.state === 'retiring' && !v.suspect).sort((a, b) => b.version - a.version)[0] ??
    live
      .filter((v) => v.state === 'next' && v.validated && !v.suspect)
      .sort((a, b) => b.version - a.version)[0];
  return failover ?? active ?? null;
}

/** Whether a request that got 401 with `version` has another valid version to fail over to. */
export function hasFailover(versions: readonly KeyVersion[], rejected: number): boolean {
  const others = versions.filter((v) => v.version !== rejected && !v.suspect);
  return others.some(
    (v) => v.state === 'active' || v.state === 'retiring' || (v.state === 'next' && v.validated),
  );
}

/** Requests per key version, as counted from usage rows (cumulative totals). */
export interface VersionTraffic {
  version: number;
  requests: number;
  /** answers that point at the key or at Groq: 401, 403 and 5xx */
  errors: number;
  unauthorized: number;
}

export function trafficDelta(
  now: readonly VersionTraffic[],
  before: readonly VersionTraffic[],
  version: number,
): VersionTraffic {
  const a = now.find((t) => t.version === version);
  const b = before.find((t) => t.version === version);
  return {
    version,
    requests: (a?.requests ?? 0) - (b?.requests ?? 0),
    errors: (a?.errors ?? 0) - (b?.errors ?? 0),
    unauthorized: (a?.unauthorized ?? 0) - (b?.unauthorized ?? 0),
  };
}

/**
 * Whether the new version is unhealthy: any 401, or an error rate above `threshold` (0..1) once at
 * least `minRequests` requests were seen. Returns the reason, or null when healthy.
 */
export function unhealthyReason(
  traffic: VersionTraffic,
  suspect: boolean,
  threshold: number,
  minRequests: number,
): string | null {
  if (traffic.unauthorized > 0 || suspect) {
    return `Groq answered 401 for version ${traffic.version} (${traffic.unauthorized} request(s))`;
  }
  if (traffic.requests >= minRequests && traffic.requests > 0) {
    const rate = traffic.errors / traffic.requests;
    if (rate > threshold) {
      return `error rate ${(rate * 100).toFixed(1)}% on version ${traffic.version} is above ${(threshold * 100).toFixed(1)}% (${traffic.errors} of ${traffic.requests})`;
    }
  }
  return null;
}
