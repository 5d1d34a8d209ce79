// The embedded secret store: an AES-256-GCM encrypted file with a 0600 master key file, no secret in
// clear on disk, ciphertexts bound to their key name and version, and the environment master key.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encryptedFileSecretStore,
  SECRETS_FILE_NAME,
  SECRETS_KEY_FILE_NAME,
  SecretStoreError,
} from '../../../activities/secret-store';

const SECRET = `gsk_${'A1b2C3d4'.repeat(6)}wxyz`;

describe('encrypted file secret store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gg-secrets-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores secrets encrypted, with a master key file of mode 0600 created on first use', async () => {
    const store = await encryptedFileSecretStore({ dataDir: dir, env: {} });
    await store.put('chatbot-prod-gateway', 1, SECRET);
    expect(await store.get('chatbot-prod-gateway', 1)).toBe(SECRET);
    expect(await store.get('chatbot-prod-gateway', 2)).toBeUndefined();
    expect(await store.list()).toEqual({ 'chatbot-prod-gateway': [1] });
    expect(statSync(join(dir, SECRETS_KEY_FILE_NAME)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, SECRETS_FILE_NAME)).mode & 0o777).toBe(0o600);
    const onDisk = readFileSync(join(dir, SECRETS_FILE_NAME), 'utf8');
    expect(onDisk).not.toContain(SECRET);
    expect(onDisk).not.toContain(SECRET.slice(4, 20));
    // another process (a new store on the same folder) reads it; a version is never overwritten
    const again = await encryptedFileSecretStore({ dataDir: dir, env: {} });
    expect(await again.get('chatbot-prod-gateway', 1)).toBe(SECRET);
    await expect(again.put('chatbot-prod-gateway', 1, SECRET)).rejects.toThrow(/already has a secret/);
    await again.remove('chatbot-prod-gateway', 1);
    expect(await store.get('chatbot-prod-gateway', 1)).toBeUndefined();
  });

  it('a ciphertext moved to another version fails authentication, without showing the secret', async () => {
    const store = await encryptedFileSecretStore({ dataDir: dir, env: {} });
    await store.put('chatbot-prod-gateway', 1, SECRET);
    const path = join(dir, SECRETS_FILE_NAME);
    const content = JSON.parse(readFileSync(path, 'utf8'));
    content.keys['chatbot-prod-gateway']['2'] = content.keys['chatbot-prod-gateway']['1'];
    writeFileSync(path, JSON.stringify(content), { mode: 0o600 });
    const error = await store.get('chatbot-prod-gateway', 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretStoreError);
    expect(String(error)).toMatch(/failed authentication/);
    expect(String(error)).not.toContain(SECRET);
  });

  it('uses GOVERNOR_SECRETS_KEY when set, and another master key cannot read the file', async () => {
    const env = { GOVERNOR_SECRETS_KEY: randomBytes(32).toString('base64') };
    const store = await encryptedFileSecretStore({ dataDir: dir, env });
    await store.put('chatbot-prod-gateway', 1, SECRET);
    expect(() => statSync(join(dir, SECRETS_KEY_FILE_NAME))).toThrow();
    const other = await encryptedFileSecretStore({ dataDir: dir, env: {} });
    await expect(other.get('chatbot-prod-gateway', 1)).rejects.toThrow(SecretStoreError);
  });

  it('processes starting together on a fresh folder end up with one master key', async () => {
    const stores = await Promise.all(
      Array.from({ length: 6 }, () => encryptedFileSecretStore({ dataDir: dir, env: {} })),
    );
    await stores[0]!.put('chatbot-prod-gateway', 1, SECRET);
    for (const store of stores) expect(await store.get('chatbot-prod-gateway', 1)).toBe(SECRET);
  });

  it('refuses a master key file others may read', async () => {
    await encryptedFileSecretStore({ dataDir: dir, env: {} });
    chmodSync(join(dir, SECRETS_KEY_FILE_NAME), 0o644);
    await expect(encryptedFileSecretStore({ dataDir: dir, env: {} })).rejects.toThrow(/chmod 600/);
  });
});
