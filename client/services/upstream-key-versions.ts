/**
 * Upstream key versions for people: add a version (its secret goes to the secret store, its state to
 * the ledger) and list them. Only fingerprints (`gsk_…last4`) ever leave here.
 */
import type { SecretStore } from '../../activities/secret-store';
import { keyNameProblem } from '../../domain/keyName';
import { secretFingerprint, type KeyVersion } from '../../domain/key-versions';
import type { LedgerStore } from '../../ledger';
import {
  changeKeyVersions,
  keyNamesWithVersions,
  KeyVersionConflict,
  listKeyVersions,
} from '../../ledger/key-versions';

export class UpstreamKeyError extends Error {
  override name = 'UpstreamKeyError';
}

/** Groq key secrets look like `gsk_` and letters or digits; anything else is refused before it is stored. */
const SECRET_PATTERN = /^gsk_[A-Za-z0-9]{20,}$/;

export interface AddedVersion {
  keyName: string;
  version: number;
  state: 'active' | 'next';
  fingerprint: string;
}

/**
 * Add a new version of `keyName`: `active` when the name has no active version yet (its first), else
 * `next` (a rotation moves requests to it). The secret is stored before the version exists in the
 * ledger, so no process ever chooses a version without a secret.
 */
export async function addUpstreamKeyVersion(options: {
  ledger: LedgerStore;
  store: SecretStore;
  keyName: string;
  secret: string;
  actor: string;
}): Promise<AddedVersion> {
  const { ledger, store, keyName } = options;
  const problem = keyNameProblem(keyName);
  if (problem) throw new UpstreamKeyError(problem);
  const secret = options.secret.trim();
  if (!SECRET_PATTERN.test(secret)) {
    throw new UpstreamKeyError(
      'the secret does not look like a Groq API key (gsk_ followed by letters and digits)',
    );
  }
  const known = await listKeyVersions(ledger.sql, keyName);
  const stored = (await store.list())[keyName] ?? [];
  for (const version of known.filter((v) => v.state !== 'revoked')) {
    if ((await store.get(keyName, version.version)) === secret) {
      throw new UpstreamKeyError(`that secret is already ${keyName} version ${version.version}`);
    }
  }
  const version = Math.max(0, ...known.map((v) => v.version), ...stored) + 1;
  const fingerprint = secretFingerprint(secret);
  await store.put(keyName, version, secret);
  try {
    const { event } = await changeKeyVersions(ledger.sql, keyName, options.actor, (versions) => {
      if (versions.some((v) => v.version === version)) {
        throw new KeyVersionConflict(`${keyName} version ${version} was added meanwhile; try again`);
      }
      return {
        kind: 'add',
        version,
        fingerprint,
        state: versions.some((v) => v.state === 'active') ? 'next' : 'active',
      };
    });
    return { keyName, version, state: event?.kind === 'add' ? event.state : 'next', fingerprint };
  } catch (error) {
    await store.remove(keyName, version);
    throw error;
  }
}

export interface ListedVersion extends KeyVersion {
  keyName: string;
  hasSecret: boolean;
}

export async function listUpstreamKeyVersions(
  ledger: LedgerStore,
  store: SecretStore,
): Promise<ListedVersion[]> {
  const stored = await store.list();
  const rows: ListedVersion[] = [];
  for (const keyName of await keyNamesWithVersions(ledger.sql)) {
    for (const version of await listKeyVersions(ledger.sql, keyName)) {
      rows.push({ ...version, keyName, hasSecret: (stored[keyName] ?? []).includes(version.version) });
    }
  }
  return rows;
}
