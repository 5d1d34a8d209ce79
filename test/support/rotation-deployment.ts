/**
 * Key rotation on a multi-process deployment (test/support/multiprocess.ts): the key's two versions in
 * the workers' shared data folder, and the admin HTTP API called with an org-admin key.
 */
import { encryptedFileSecretStore } from '../../activities/secret-store';
import { issueKey } from '../../client/services/gateway-keys';
import { addUpstreamKeyVersion } from '../../client/services/upstream-key-versions';
import type { Deployment } from './multiprocess';

/**
 * `keyName`'s secret (the one the workers also have in their environment) as version 1, active, and a
 * new one (known to the emulator as `<keyName>-next`) as version 2, next, in `dataDir`'s secret store.
 */
export async function twoKeyVersions(
  deployment: Deployment,
  dataDir: string,
  keyName: string,
): Promise<{ oldSecret: string; newSecret: string }> {
  const { ledger, emulator } = deployment;
  const store = await encryptedFileSecretStore({ dataDir, env: {} });
  const oldSecret = emulator.addedKeys[keyName]!;
  const newSecret = emulator.addKey(`${keyName}-next`).secret;
  await addUpstreamKeyVersion({ ledger, store, keyName, secret: oldSecret, actor: 'test' });
  await addUpstreamKeyVersion({ ledger, store, keyName, secret: newSecret, actor: 'test' });
  return { oldSecret, newSecret };
}

/** calls the gateway's admin API with a new org-admin key: the status and the JSON body */
export async function adminApi(deployment: Deployment) {
  const { ledger, gateway, config } = deployment;
  const admin = (await issueKey(ledger, 'operator', { team: null, role: 'org-admin' }, config)).key;
  return async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
}
