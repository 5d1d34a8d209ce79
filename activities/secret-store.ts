/**
 * Where upstream key secrets live, by key name and version. `SecretStore` is the interface workflows
 * never see (they carry names and version numbers); activities and the CLI use it. The one
 * implementation is an encrypted file in the data folder, `<dataDir>/upstream-keys.enc`:
 *
 * - each secret is encrypted on its own with AES-256-GCM, a fresh 12-byte IV, and `name` + version as
 *   additional data, so a ciphertext moved to another slot fails authentication;
 * - the master key is `GOVERNOR_SECRETS_KEY` (base64 of 32 bytes), else `<dataDir>/secrets.key`, created
 *   with a random key and mode 0600 on first use (a key file group or others may access is refused);
 * - writes go to a temporary file (mode 0600) renamed into place, so readers never see half a file;
 *   readers re-read the file when its modification time or size changes.
 *
 * A cloud secret manager can implement the same interface later without touching workflows.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { chmod, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateKeyFile, parseKeyMaterial } from '../workers/codec/keys';

export interface SecretStore {
  /** the secret of one version, or undefined when the store has none */
  get(keyName: string, version: number): Promise<string | undefined>;
  /** store a new version's secret; refuses to overwrite an existing one */
  put(keyName: string, version: number, secret: string): Promise<void>;
  /** forget a version's secret (after it was revoked); harmless when absent */
  remove(keyName: string, version: number): Promise<void>;
  /** versions with a secret, per key name */
  list(): Promise<Record<string, number[]>>;
  /** where the secrets are, for messages (never the secrets) */
  describe(): string;
}

export class SecretStoreError extends Error {
  override name = 'SecretStoreError';
}

export const SECRETS_FILE_NAME = 'upstream-keys.enc';
export const SECRETS_KEY_FILE_NAME = 'secrets.key';

interface Sealed {
  iv: string;
  data: string;
  tag: string;
}
interface FileContent {
  format: 1;
  keys: Record<string, Record<string, Sealed>>;
}

function aad(keyName: string, version: number): Buffer {
  return Buffer.from(`groq-governor upstream key\n${keyName}\n${version}`, 'utf8');
}

function seal(key: KeyObject, keyName: string, version: number, secret: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(keyName, version));
  const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    data: data.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

function unseal(key: KeyObject, keyName: string, version: number, sealed: Sealed, path: string): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(aad(keyName, version));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new SecretStoreError(
      `the secret of ${keyName} version ${version} in ${path} failed authentication: the file was modified, ` +
        'or the master key (GOVERNOR_SECRETS_KEY or secrets.key) is not the one it was written with',
    );
  }
}

async function checkPrivate(path: string): Promise<void> {
  const stats = await stat(path);
  if (!stats.isFile()) throw new SecretStoreError(`${path} is not a regular file`);
  if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    throw new SecretStoreError(
      `${path} has mode ${mode}: group or others may access it. Restrict it with: chmod 600 ${path}`,
    );
  }
}

/** The master key: GOVERNOR_SECRETS_KEY, else the data folder's key file (created on first use). */
export async function loadSecretsMasterKey(
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<KeyObject> {
  const fromEnv = env.GOVERNOR_SECRETS_KEY;
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return createSecretKey(parseKeyMaterial(fromEnv, 'GOVERNOR_SECRETS_KEY'));
  }
  const { path } = await ensurePrivateKeyFile(dataDir, SECRETS_KEY_FILE_NAME);
  await checkPrivate(path);
  const text = await readFile(path, 'utf8');
  if (text.trim() === '') throw new SecretStoreError(`the key file ${path} is empty`);
  return createSecretKey(parseKeyMaterial(text, `the key file ${path}`));
}

/** The embedded secret store: an encrypted file in the data folder (see the top of this file). */
export async function encryptedFileSecretStore(options: {
  dataDir: string;
  env?: NodeJS.ProcessEnv;
}): Promise<SecretStore> {
  const key = await loadSecretsMasterKey(options.dataDir, options.env);
  const path = join(options.dataDir, SECRETS_FILE_NAME);
  let cached: { stamp: string; content: FileContent } | undefined;
  let writing: Promise<unknown> = Promise.resolve();

  const read = async (): Promise<FileContent> => {
    let stamp: string;
    try {
      const stats = await stat(path);
      stamp = `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { format: 1, keys: {} };
      throw error;
    }
    if (cached?.stamp === stamp) return cached.content;
    await checkPrivate(path);
    const parsed = JSON.parse(await readFile(path, 'utf8')) as FileContent;
    if (parsed.format !== 1 || typeof parsed.keys !== 'object') {
      throw new SecretStoreError(`${path} is not a Groq Governor secret store (format 1)`);
    }
    cached = { stamp, content: parsed };
    return parsed;
  };

  const write = async (content: FileContent): Promise<void> => {
    const scratch = join(
      options.dataDir,
      `.${SECRETS_FILE_NAME}.${process.pid}.${randomBytes(6).toString('hex')}`,
    );
    const handle = await open(scratch, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(content, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(scratch, 0o600);
    try {
      await rename(scratch, path);
    } catch (error) {
      await rm(scratch, { force: true });
      throw error;
    }
    cached = undefined;
  };

  // writes in this process run one after another; separate processes (the CLI) write rarely
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = writing.then(fn, fn);
    writing = run.catch(() => undefined);
    return run;
  };

  return {
    async get(keyName, version) {
      const sealed = (await read()).keys[keyName]?.[String(version)];
      return sealed ? unseal(key, keyName, version, sealed, path) : undefined;
    },
    put: (keyName, version, secret) =>
      serialized(async () => {
        if (!Number.isSafeInteger(version) || version < 1)
          throw new RangeError('version must be a whole number >= 1');
        const content = structuredClone(await read());
        const slots = (content.keys[keyName] ??= {});
        if (slots[String(version)]) {
          throw new SecretStoreError(
            `${keyName} version ${version} already has a secret; add a new version instead`,
          );
        }
        slots[String(version)] = seal(key, keyName, version, secret);
        await write(content);
      }),
    remove: (keyName, version) =>
      serialized(async () => {
        const content = structuredClone(await read());
        if (!content.keys[keyName]?.[String(version)]) return;
        delete content.keys[keyName][String(version)];
        if (Object.keys(content.keys[keyName]).length === 0) delete content.keys[keyName];
        await write(content);
      }),
    async list() {
      const content = await read();
      return Object.fromEntries(
        Object.entries(content.keys).map(([name, slots]) => [
          name,
          Object.keys(slots)
            .map(Number)
            .sort((a, b) => a - b),
        ]),
      );
    },
    describe: () => `encrypted file ${path}`,
  };
}
