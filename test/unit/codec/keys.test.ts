// Codec keys: environment parsing, the key file (created 0600, refused when others may read it), old
// keys for rotation, and errors that never carry key material.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CodecKeyError,
  dataConverterFor,
  deriveKeyId,
  describeCodecKeys,
  KEY_FILE_NAME,
  loadCodecKeys,
  parseKeyMaterial,
  parseOldKeys,
} from '../../../workers/codec';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'gg-codec-'));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** The error a promise rejects with (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error,
  );
}

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

/** Asserts the error is a CodecKeyError whose message and stack hold none of the given secrets. */
function expectClean(error: Error, secrets: string[], message: RegExp) {
  expect(error).toBeInstanceOf(CodecKeyError);
  expect(error.message).toMatch(message);
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    expect(error.message).not.toContain(secret);
    expect(error.stack ?? '').not.toContain(secret);
  }
}

describe('GOVERNOR_CODEC_KEY', () => {
  it('uses the key from the environment with the derived id, and leaves the data folder alone', async () => {
    const raw = randomBytes(32);
    const keyring = await loadCodecKeys({ dataDir, env: { GOVERNOR_CODEC_KEY: b64(raw) } });
    expect(keyring.current.id).toBe(deriveKeyId(raw));
    expect(keyring.current.id).toMatch(/^k-[0-9a-f]{16}$/);
    expect(keyring.source).toEqual({ kind: 'GOVERNOR_CODEC_KEY' });
    expect(keyring.decodeKeys.map((key) => key.id)).toEqual([keyring.current.id]);
    expect(Buffer.from(keyring.current.key.export()).equals(raw)).toBe(true);
    expect(() => statSync(join(dataDir, KEY_FILE_NAME))).toThrow(/ENOENT/);
  });

  it('derives the same id from the same key and different ids from different keys', () => {
    const raw = randomBytes(32);
    expect(deriveKeyId(raw)).toBe(deriveKeyId(Buffer.from(raw)));
    expect(deriveKeyId(raw)).not.toBe(deriveKeyId(randomBytes(32)));
  });

  it('takes GOVERNOR_CODEC_KEY_ID as the id, and tolerates surrounding whitespace', async () => {
    const keyring = await loadCodecKeys({
      dataDir,
      env: { GOVERNOR_CODEC_KEY: ` ${b64(randomBytes(32))}\n`, GOVERNOR_CODEC_KEY_ID: 'prod-2025.q3_a' },
    });
    expect(keyring.current.id).toBe('prod-2025.q3_a');
  });

  const malformed: Array<[string, string, RegExp]> = [
    ['too short', b64(randomBytes(16)), /GOVERNOR_CODEC_KEY decodes to 16 bytes: AES-256 needs exactly 32/],
    ['too long', b64(randomBytes(48)), /decodes to 48 bytes/],
    ['not base64', `${b64(randomBytes(32)).slice(0, 40)}!!!=`, /GOVERNOR_CODEC_KEY is not valid base64/],
    ['hex instead of base64', randomBytes(32).toString('hex'), /decodes to 48 bytes|is not valid base64/],
    ['base64url', b64(Buffer.alloc(32, 0xfb)).replace(/\+/g, '-').replace(/\//g, '_'), /not valid base64/],
    ['missing padding', b64(randomBytes(32)).replace(/=+$/, ''), /not valid base64/],
    ['a passphrase', 'correct horse battery staple', /not valid base64/],
  ];
  for (const [name, value, message] of malformed) {
    it(`refuses a key that is ${name}, without repeating it`, async () => {
      const error = await failure(loadCodecKeys({ dataDir, env: { GOVERNOR_CODEC_KEY: value } }));
      expectClean(error, [value, value.trim().slice(0, 12)], message);
    });
  }

  it('refuses an invalid key id without repeating it', async () => {
    const key = b64(randomBytes(32));
    for (const id of ['has space', 'a:b', 'x'.repeat(65), '-leading', key]) {
      const error = await failure(
        loadCodecKeys({ dataDir, env: { GOVERNOR_CODEC_KEY: key, GOVERNOR_CODEC_KEY_ID: id } }),
      );
      expectClean(error, [key, id], /the key id of GOVERNOR_CODEC_KEY is invalid/);
    }
  });

  it('refuses GOVERNOR_CODEC_KEY_ID without GOVERNOR_CODEC_KEY', async () => {
    const error = await failure(loadCodecKeys({ dataDir, env: { GOVERNOR_CODEC_KEY_ID: 'lonely' } }));
    expectClean(error, [], /GOVERNOR_CODEC_KEY_ID is set but GOVERNOR_CODEC_KEY is not/);
  });

  it('treats an empty GOVERNOR_CODEC_KEY as unset (the key file applies)', async () => {
    const keyring = await loadCodecKeys({ dataDir, env: { GOVERNOR_CODEC_KEY: '  ' } });
    expect(keyring.source.kind).toBe('key-file');
  });

  it('never shows key material when a key or keyring is printed', async () => {
    const raw = randomBytes(32);
    const keyring = await loadCodecKeys({ dataDir, env: { GOVERNOR_CODEC_KEY: b64(raw) } });
    const printed = `${inspect(keyring, { depth: 10 })} ${JSON.stringify(keyring)} ${describeCodecKeys(keyring)}`;
    expect(printed).not.toContain(b64(raw));
    expect(printed).not.toContain(raw.toString('hex'));
    expect(printed).toContain(keyring.current.id);
  });
});

describe('the key file', () => {
  const keyPath = () => join(dataDir, KEY_FILE_NAME);

  it('is created on first start with mode 0600 and reused afterwards', async () => {
    const nested = join(dataDir, 'fresh', 'data');
    const first = await loadCodecKeys({ dataDir: nested, env: {} });
    const path = join(nested, KEY_FILE_NAME);
    expect(first.source).toEqual({ kind: 'key-file', path, created: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const content = readFileSync(path, 'utf8');
    expect(
      Buffer.from(parseKeyMaterial(content, 'file')).equals(Buffer.from(first.current.key.export())),
    ).toBe(true);

    const second = await loadCodecKeys({ dataDir: nested, env: {} });
    expect(second.source).toEqual({ kind: 'key-file', path, created: false });
    expect(second.current.id).toBe(first.current.id);
    expect(second.current.key.equals(first.current.key)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(content);
    expect(describeCodecKeys(first)).toMatch(/key k-[0-9a-f]{16} from new key file .*codec\.key/);
  });

  it('ends with one key when many loaders start at the same moment', async () => {
    const keyrings = await Promise.all(Array.from({ length: 8 }, () => loadCodecKeys({ dataDir, env: {} })));
    expect(new Set(keyrings.map((keyring) => keyring.current.id)).size).toBe(1);
    expect(keyrings.filter((keyring) => keyring.source.created)).toHaveLength(1);
    expect(statSync(keyPath()).mode & 0o777).toBe(0o600);
  });

  it.skipIf(process.platform === 'win32')(
    'is refused when group or others may read it, pointing at chmod 600',
    async () => {
      const key = b64(randomBytes(32));
      for (const mode of [0o644, 0o640, 0o604, 0o660]) {
        writeFileSync(keyPath(), `${key}\n`);
        chmodSync(keyPath(), mode);
        const error = await failure(loadCodecKeys({ dataDir, env: {} }));
        expectClean(error, [key], new RegExp(`mode 0${mode.toString(8)}: group or others may access it`));
        expect(error.message).toContain(`chmod 600 ${keyPath()}`);
      }
      chmodSync(keyPath(), 0o600);
      const keyring = await loadCodecKeys({ dataDir, env: {} });
      expect(keyring.current.id).toBe(deriveKeyId(Buffer.from(key, 'base64')));
    },
  );

  it('follows a symbolic link but checks the mode of the file it points to', async () => {
    const target = join(dataDir, 'elsewhere.key');
    writeFileSync(target, b64(randomBytes(32)), { mode: 0o644 });
    chmodSync(target, 0o644);
    symlinkSync(target, keyPath());
    await expect(loadCodecKeys({ dataDir, env: {} })).rejects.toThrow(/chmod 600/);
    chmodSync(target, 0o600);
    await expect(loadCodecKeys({ dataDir, env: {} })).resolves.toMatchObject({ source: { created: false } });
  });

  it('is refused when it does not hold a key, without repeating its content', async () => {
    for (const content of ['', 'not a key at all', b64(randomBytes(31))]) {
      writeFileSync(keyPath(), content, { mode: 0o600 });
      const error = await failure(loadCodecKeys({ dataDir, env: {} }));
      expectClean(
        error,
        [content],
        /the codec key file .*codec\.key (is empty|is not valid base64|decodes to 31)/,
      );
    }
  });

  it('is ignored when GOVERNOR_CODEC_KEY is set, even when it is unsafe', async () => {
    writeFileSync(keyPath(), b64(randomBytes(32)), { mode: 0o644 });
    chmodSync(keyPath(), 0o644);
    const keyring = await loadCodecKeys({ dataDir, env: { GOVERNOR_CODEC_KEY: b64(randomBytes(32)) } });
    expect(keyring.source.kind).toBe('GOVERNOR_CODEC_KEY');
  });
});

describe('GOVERNOR_CODEC_OLD_KEYS', () => {
  it('parses id:base64 and bare base64 entries, skipping empty ones', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const keys = parseOldKeys(` v1:${b64(a)} ,, ${b64(b)},`);
    expect(keys.map((key) => key.id)).toEqual(['v1', deriveKeyId(b)]);
    expect(Buffer.from(keys[0]!.key.export()).equals(a)).toBe(true);
    expect(parseOldKeys(undefined)).toEqual([]);
    expect(parseOldKeys('  ')).toEqual([]);
  });

  it('names the bad entry and never its key', () => {
    const good = b64(randomBytes(32));
    const short = b64(randomBytes(10));
    let error = thrown(() => parseOldKeys(`v1:${good},v2:${short}`));
    expectClean(error, [good, short], /GOVERNOR_CODEC_OLD_KEYS entry 2 \(id v2\) decodes to 10 bytes/);
    error = thrown(() => parseOldKeys(`bad id:${good}`));
    expectClean(error, [good], /entry 1 has an invalid key id/);
    error = thrown(() => parseOldKeys(`${good}:v1`)); // the wrong way round: the "id" is the key
    expectClean(error, [good], /entry 1 has an invalid key id/);
    error = thrown(() => parseOldKeys(`v1:`));
    expectClean(error, [], /entry 1 \(id v1\) is empty/);
  });

  it('adds old keys for decoding after the current one and refuses one id for two keys', async () => {
    const current = b64(randomBytes(32));
    const old = b64(randomBytes(32));
    const keyring = await loadCodecKeys({
      dataDir,
      env: {
        GOVERNOR_CODEC_KEY: current,
        GOVERNOR_CODEC_KEY_ID: 'v2',
        GOVERNOR_CODEC_OLD_KEYS: `v1:${old},v2:${current}`,
      },
    });
    expect(keyring.current.id).toBe('v2');
    expect(keyring.decodeKeys.map((key) => key.id)).toEqual(['v2', 'v1']);
    expect(describeCodecKeys(keyring)).toMatch(/key v2 from GOVERNOR_CODEC_KEY; also decrypts v1$/);

    const error = await failure(
      loadCodecKeys({
        dataDir,
        env: {
          GOVERNOR_CODEC_KEY: current,
          GOVERNOR_CODEC_KEY_ID: 'v2',
          GOVERNOR_CODEC_OLD_KEYS: `v2:${old}`,
        },
      }),
    );
    expectClean(error, [current, old], /names key id "v2" twice with different keys/);
  });

  it('lets a key file be retired: its content becomes an old key and still decrypts', async () => {
    const before = await dataConverterFor({ dataDir, env: {} });
    const [encrypted] = await before.payloadCodecs[0]!.encode([defaultPayloadConverter.toPayload('history')]);
    const fileKey = readFileSync(join(dataDir, KEY_FILE_NAME), 'utf8').trim();

    const after = await dataConverterFor({
      dataDir,
      env: { GOVERNOR_CODEC_KEY: b64(randomBytes(32)), GOVERNOR_CODEC_OLD_KEYS: fileKey },
    });
    const codec = after.payloadCodecs[0]!;
    const [decoded] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toBe('history');
    const [fresh] = await codec.encode([defaultPayloadConverter.toPayload('new')]);
    await expect(before.payloadCodecs[0]!.decode([fresh!])).rejects.toThrow(/does not have/);
  });
});
