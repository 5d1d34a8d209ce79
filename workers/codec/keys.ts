/**
 * Where the payload encryption keys come from. One current key (encrypts everything new) and any number
 * of older keys (decrypt what they once encrypted), so a key can be rotated without losing history:
 *
 * - `GOVERNOR_CODEC_KEY`: base64 of 32 random bytes; its id is `GOVERNOR_CODEC_KEY_ID` or, by default,
 *   derived from a hash of the key (so the same key always gets the same id);
 * - otherwise the key file `<dataDir>/codec.key` (base64, one line), created on first start with mode 0600;
 *   a key file that group or others may read is refused;
 * - `GOVERNOR_CODEC_OLD_KEYS`: comma-separated `id:base64` (or bare `base64`, id derived as above), used
 *   for decoding only.
 *
 * Key material is held as `KeyObject`s (which print without their bytes) and never appears in a message,
 * an error or a log line; errors name the variable, the file or the key id instead.
 */
import { createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const KEY_BYTES = 32;
export const KEY_FILE_NAME = 'codec.key';

/** A key and its id. The id is written into every payload it encrypts, so it must stay stable. */
export interface CodecKey {
  id: string;
  key: KeyObject;
}

export type CodecKeySource = 'GOVERNOR_CODEC_KEY' | 'key-file';

export interface CodecKeyring {
  /** encrypts every new payload */
  current: CodecKey;
  /** the current key first, then old keys: anything named here can be decrypted */
  decodeKeys: CodecKey[];
  /** where the current key came from; the file path when it is the key file */
  source: { kind: CodecKeySource; path?: string; created?: boolean };
}

/** A configuration problem with the codec keys. Its message never contains key material. */
export class CodecKeyError extends Error {
  override name = 'CodecKeyError';
}

const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Ids allow letters, digits, `.`, `_` and `-` (at most 64), so they fit `id:base64` lists and metadata. */
export function isValidKeyId(id: string): boolean {
  return KEY_ID.test(id);
}

/** The default id of a key: a domain-separated SHA-256 of the key, shortened. Reveals nothing usable. */
export function deriveKeyId(raw: Uint8Array): string {
  const digest = createHash('sha256').update('groq-governor codec key id\n').update(raw).digest('hex');
  return `k-${digest.slice(0, 16)}`;
}

/**
 * Parses base64 of exactly 32 bytes into a key. `what` names the source in errors ("GOVERNOR_CODEC_KEY",
 * "the key file /x/codec.key"); the text itself is never repeated.
 */
export function parseKeyMaterial(text: string, what: string): Buffer {
  const trimmed = text.trim();
  if (trimmed === '') throw new CodecKeyError(`${what} is empty: expected base64 of ${KEY_BYTES} bytes`);
  const raw = BASE64.test(trimmed) && trimmed.length % 4 === 0 ? Buffer.from(trimmed, 'base64') : undefined;
  if (raw === undefined || raw.toString('base64') !== trimmed) {
    throw new CodecKeyError(
      `${what} is not valid base64: expected base64 of ${KEY_BYTES} random bytes ` +
        `(generate one with: openssl rand -base64 ${KEY_BYTES})`,
    );
  }
  if (raw.length !== KEY_BYTES) {
    const length = raw.length;
    raw.fill(0);
    throw new CodecKeyError(
      `${what} decodes to ${length} bytes: AES-256 needs exactly ${KEY_BYTES} ` +
        `(generate one with: openssl rand -base64 ${KEY_BYTES})`,
    );
  }
  return raw;
}

/** Wraps raw key bytes as a `KeyObject` with the given id (or the derived one), and wipes the bytes. */
export function codecKey(raw: Buffer, id?: string, what = 'the key'): CodecKey {
  const keyId = id ?? deriveKeyId(raw);
  if (!isValidKeyId(keyId)) {
    raw.fill(0);
    // the invalid id is not repeated: it might be key material pasted into the wrong place
    throw new CodecKeyError(
      `the key id of ${what} is invalid: use 1 to 64 letters, digits, '.', '_' or '-', ` +
        'starting with a letter or digit',
    );
  }
  const key = createSecretKey(raw);
  raw.fill(0);
  return { id: keyId, key };
}

/** A fresh random key, for tests and tools. */
export function generateCodecKey(id?: string): CodecKey {
  return codecKey(randomBytes(KEY_BYTES), id);
}

/** `GOVERNOR_CODEC_OLD_KEYS`: comma-separated `id:base64` or `base64` entries; empty entries are ignored. */
export function parseOldKeys(text: string | undefined): CodecKey[] {
  if (text === undefined || text.trim() === '') return [];
  const keys: CodecKey[] = [];
  const entries = text.split(',');
  entries.forEach((entry, index) => {
    const trimmed = entry.trim();
    if (trimmed === '') return;
    const colon = trimmed.indexOf(':');
    const id = colon === -1 ? undefined : trimmed.slice(0, colon).trim();
    const material = colon === -1 ? trimmed : trimmed.slice(colon + 1);
    if (id !== undefined && !isValidKeyId(id)) {
      throw new CodecKeyError(
        `GOVERNOR_CODEC_OLD_KEYS entry ${index + 1} has an invalid key id: expected id:base64 with an id of ` +
          "1 to 64 letters, digits, '.', '_' or '-'",
      );
    }
    const what = `GOVERNOR_CODEC_OLD_KEYS entry ${index + 1}${id ? ` (id ${id})` : ''}`;
    keys.push(codecKey(parseKeyMaterial(material, what), id, what));
  });
  return keys;
}

/** Refuses a key file that group or others may access, or that is not a plain file (links are followed). */
async function checkKeyFile(path: string): Promise<void> {
  const stats = await stat(path);
  if (!stats.isFile()) {
    throw new CodecKeyError(`the codec key file ${path} is not a regular file`);
  }
  if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    throw new CodecKeyError(
      `the codec key file ${path} has mode ${mode}: group or others may access it. ` +
        `Restrict it with: chmod 600 ${path}`,
    );
  }
}

/**
 * Creates `<dataDir>/<fileName>` with a new random 32-byte key (base64), readable by its owner only. The
 * file appears atomically with its content (written aside, then hard-linked into place), so processes
 * starting at the same moment all end up with the one key that won. Returns false when the file already
 * existed.
 */
async function createPrivateKeyFile(dataDir: string, fileName: string): Promise<boolean> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, fileName);
  const scratch = join(dataDir, `.${fileName}.${process.pid}.${randomBytes(6).toString('hex')}`);
  const raw = randomBytes(KEY_BYTES);
  const handle = await open(scratch, 'wx', 0o600);
  try {
    await handle.chmod(0o600); // the umask can only remove bits, but be explicit
    await handle.writeFile(`${raw.toString('base64')}\n`);
    await handle.sync();
  } finally {
    raw.fill(0);
    await handle.close();
  }
  try {
    await link(scratch, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(scratch, { force: true });
  }
}

/**
 * `<dataDir>/<fileName>`, created with a new random key when absent (see createPrivateKeyFile). Used for
 * `codec.key` and the secret store's `secrets.key`; each caller checks the file's mode and reads it.
 */
export async function ensurePrivateKeyFile(
  dataDir: string,
  fileName: string,
): Promise<{ path: string; created: boolean }> {
  const path = join(dataDir, fileName);
  try {
    await stat(path);
    return { path, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { path, created: await createPrivateKeyFile(dataDir, fileName) };
}

/** Reads (creating it when absent) the key file of a data folder. */
export async function loadKeyFile(
  dataDir: string,
): Promise<{ key: CodecKey; path: string; created: boolean }> {
  const { path, created } = await ensurePrivateKeyFile(dataDir, KEY_FILE_NAME);
  await checkKeyFile(path);
  const what = `the codec key file ${path}`;
  const text = await readFile(path, 'utf8');
  return { key: codecKey(parseKeyMaterial(text, what), undefined, what), path, created };
}

/** Resolves the keyring from the environment and the data folder (see the top of this file). */
export async function loadCodecKeys(options: {
  dataDir: string;
  env?: NodeJS.ProcessEnv;
}): Promise<CodecKeyring> {
  const env = options.env ?? process.env;
  const envKey = env.GOVERNOR_CODEC_KEY;
  const envKeyId = env.GOVERNOR_CODEC_KEY_ID?.trim() || undefined;
  let current: CodecKey;
  let source: CodecKeyring['source'];
  if (envKey !== undefined && envKey.trim() !== '') {
    current = codecKey(parseKeyMaterial(envKey, 'GOVERNOR_CODEC_KEY'), envKeyId, 'GOVERNOR_CODEC_KEY');
    source = { kind: 'GOVERNOR_CODEC_KEY' };
  } else {
    if (envKeyId !== undefined) {
      throw new CodecKeyError(
        'GOVERNOR_CODEC_KEY_ID is set but GOVERNOR_CODEC_KEY is not: the id names the key given in ' +
          'GOVERNOR_CODEC_KEY (the key file always uses the id derived from its key)',
      );
    }
    const file = await loadKeyFile(options.dataDir);
    current = file.key;
    source = { kind: 'key-file', path: file.path, created: file.created };
  }
  const decodeKeys: CodecKey[] = [current];
  for (const old of parseOldKeys(env.GOVERNOR_CODEC_OLD_KEYS)) {
    const same = decodeKeys.find((known) => known.id === old.id);
    if (same === undefined) decodeKeys.push(old);
    else if (!same.key.equals(old.key)) {
      throw new CodecKeyError(
        `GOVERNOR_CODEC_OLD_KEYS names key id ${JSON.stringify(old.id)} twice with different keys ` +
          '(or reuses the current key id for another key): every key id must name one key',
      );
    }
  }
  return { current, decodeKeys, source };
}

/** A line for start-up logs: which key encrypts and which ids can be decrypted. Never key material. */
export function describeCodecKeys(keyring: CodecKeyring): string {
  const from =
    keyring.source.kind === 'key-file'
      ? `${keyring.source.created ? 'new key file' : 'key file'} ${keyring.source.path}`
      : 'GOVERNOR_CODEC_KEY';
  const old = keyring.decodeKeys.slice(1).map((key) => key.id);
  return (
    `payloads encrypted with AES-256-GCM, key ${keyring.current.id} from ${from}` +
    (old.length > 0 ? `; also decrypts ${old.join(', ')}` : '')
  );
}
