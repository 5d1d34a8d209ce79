/**
 * The resolver of upstream keys with versions (key rotation). Which version serves a new request comes
 * from the ledger every process shares (ledger/key-versions.ts), cached for at most `cacheMs` (default
 * 2 s) so a promotion, rollback or revocation reaches every worker and gateway within seconds without a
 * restart; the secret of the chosen version comes from the secret store. Key names with no versions are
 * resolved by `fallback` (environment variables or the emulator's keys), as before rotation existed.
 */
import { chooseVersion, hasFailover, type KeyVersion } from '../domain/key-versions';
import type { LedgerStore } from '../ledger';
import { changeKeyVersions, listKeyVersions } from '../ledger/key-versions';
import type { KeyAlertSink } from './key-alerts';
import type { SecretStore } from './secret-store';
import { UnknownUpstreamKeyError, type UpstreamKeyResolver } from './upstream-keys';

export interface VersionedKeyResolver extends UpstreamKeyResolver {
  rejected(keyName: string, version: number): Promise<{ failover: boolean }>;
  /** forget cached states (this process changed them) */
  invalidate(keyName?: string): void;
}

export function versionedKeyResolver(options: {
  ledger: LedgerStore;
  store: SecretStore;
  fallback?: UpstreamKeyResolver;
  cacheMs?: number;
  now?: () => number;
  /** a number in [0, 100): the canary draw */
  draw?: () => number;
  /** who the audit log names for a suspect mark */
  actor?: string;
  /** told once per version newly marked suspect */
  alerts?: KeyAlertSink;
}): VersionedKeyResolver {
  const cacheMs = options.cacheMs ?? 2000;
  const now = options.now ?? Date.now;
  const draw = options.draw ?? (() => Math.random() * 100);
  const cache = new Map<string, { at: number; versions: Promise<KeyVersion[]> }>();

  const versionsOf = (keyName: string, fresh = false): Promise<KeyVersion[]> => {
    const hit = cache.get(keyName);
    if (!fresh && hit && now() - hit.at < cacheMs) return hit.versions;
    const versions = listKeyVersions(options.ledger.sql, keyName);
    cache.set(keyName, { at: now(), versions });
    versions.catch(() => cache.delete(keyName));
    return versions;
  };

  const resolveIn = async (keyName: string, versions: KeyVersion[]) => {
    const chosen = chooseVersion(versions, draw());
    if (!chosen) throw new UnknownUpstreamKeyError(keyName);
    const secret = await options.store.get(keyName, chosen.version);
    return secret === undefined ? undefined : { secret, version: chosen.version };
  };

  return {
    async resolve(keyName) {
      const versions = await versionsOf(keyName);
      if (versions.length === 0) {
        if (options.fallback) return options.fallback.resolve(keyName);
        throw new UnknownUpstreamKeyError(keyName);
      }
      // a version whose secret is gone was revoked meanwhile: read the states again and choose again
      const resolved =
        (await resolveIn(keyName, versions)) ?? (await resolveIn(keyName, await versionsOf(keyName, true)));
      if (!resolved) throw new UnknownUpstreamKeyError(keyName);
      return resolved;
    },
    async rejected(keyName, version) {
      const current = await versionsOf(keyName, true);
      if (!current.some((v) => v.version === version)) return { failover: false };
      const { versions, event } = await changeKeyVersions(
        options.ledger.sql,
        keyName,
        options.actor ?? 'system:upstream-call',
        (known) =>
          known.find((v) => v.version === version)?.suspect
            ? null
            : { kind: 'suspect', version, status: 401 },
      );
      cache.set(keyName, { at: now(), versions: Promise.resolve(versions) });
      const failover = hasFailover(versions, version);
      if (event !== null) {
        await options.alerts?.notify({
          keyName,
          severity: 'critical',
          message:
            `Groq answered 401 for upstream key ${keyName} version ${version}: it is marked suspect and ` +
            (failover ? 'requests fail over to another valid version.' : 'no other valid version exists.'),
        });
      }
      return { failover };
    },
    invalidate(keyName) {
      if (keyName === undefined) cache.clear();
      else cache.delete(keyName);
    },
  };
}
