// The AES-256-GCM payload codec: round trips, tampering, wrong keys, rotation and pass-through.
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AesGcmPayloadCodec,
  CIPHER,
  codecKey,
  dataConverterFromKeys,
  ENCODING_ENCRYPTED,
  generateCodecKey,
  isEncryptedPayload,
  METADATA_CIPHER,
  METADATA_ENCODING,
  METADATA_KEY_ID,
  PayloadDecryptionError,
} from '../../../workers/codec';

const text = new TextEncoder();
const untext = new TextDecoder();

/** Plain, comparable form of a payload: metadata values and data as plain byte arrays. */
function plain(payload: Payload) {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([name, value]) => [name, Array.from(value ?? [])]),
    ),
    data: Array.from(payload.data ?? []),
  };
}

function meta(payload: Payload, name: string): string | undefined {
  const value = payload.metadata?.[name];
  return value == null ? undefined : untext.decode(value);
}

async function encryptOne(codec: AesGcmPayloadCodec, payload: Payload): Promise<Payload> {
  const [encrypted] = await codec.encode([payload]);
  return encrypted!;
}

async function decryptOne(codec: AesGcmPayloadCodec, payload: Payload): Promise<Payload> {
  const [decrypted] = await codec.decode([payload]);
  return decrypted!;
}

function withData(payload: Payload, change: (data: Uint8Array) => void): Payload {
  const data = Uint8Array.from(payload.data ?? []);
  change(data);
  return { metadata: { ...payload.metadata }, data };
}

const arbitraryPayload: fc.Arbitrary<Payload> = fc.record({
  metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.uint8Array({ maxLength: 40 }), {
    maxKeys: 5,
  }),
  data: fc.uint8Array({ maxLength: 2000 }),
});

const MARKER = 'secret-prompt-7f3a';
const sample = (): Payload => defaultPayloadConverter.toPayload({ prompt: `tell me about ${MARKER}` });

describe('AesGcmPayloadCodec', () => {
  const key = generateCodecKey('current');
  const codec = new AesGcmPayloadCodec({ current: key });

  it('round-trips arbitrary payloads, metadata included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbitraryPayload, { maxLength: 4 }), async (payloads) => {
        const encoded = await codec.encode(payloads);
        expect(encoded).toHaveLength(payloads.length);
        const decoded = await codec.decode(encoded);
        expect(decoded.map(plain)).toEqual(payloads.map(plain));
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips values through the default converter followed by the codec', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const payload = defaultPayloadConverter.toPayload(value);
        const back = defaultPayloadConverter.fromPayload(
          await decryptOne(codec, await encryptOne(codec, payload)),
        );
        expect(back).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 100 },
    );
  });

  it('writes binary/encrypted payloads that name the key and hide the plaintext', async () => {
    const original = sample();
    const encrypted = await encryptOne(codec, original);
    expect(isEncryptedPayload(encrypted)).toBe(true);
    expect(meta(encrypted, METADATA_ENCODING)).toBe(ENCODING_ENCRYPTED);
    expect(meta(encrypted, METADATA_KEY_ID)).toBe('current');
    expect(meta(encrypted, METADATA_CIPHER)).toBe(CIPHER);
    expect(Object.keys(encrypted.metadata ?? {}).sort()).toEqual(
      [METADATA_CIPHER, METADATA_ENCODING, METADATA_KEY_ID].sort(),
    );
    const bytes = Buffer.from(encrypted.data!);
    expect(bytes.includes(Buffer.from(MARKER))).toBe(false);
    expect(bytes.includes(Buffer.from('json/plain'))).toBe(false); // the inner metadata is encrypted too
    // IV (12) + serialized payload + tag (16)
    expect(bytes.length).toBe(12 + temporal.api.common.v1.Payload.encode(original).finish().length + 16);
  });

  it('uses a fresh IV for every payload', async () => {
    const payload = sample();
    const encrypted = await codec.encode([payload, payload, payload]);
    const ivs = new Set(encrypted.map((one) => Buffer.from(one.data!.subarray(0, 12)).toString('hex')));
    expect(ivs.size).toBe(3);
    const bodies = new Set(encrypted.map((one) => Buffer.from(one.data!).toString('hex')));
    expect(bodies.size).toBe(3);
  });

  describe('detects tampering', () => {
    it('with any single flipped bit of IV, ciphertext or tag', async () => {
      const encrypted = await encryptOne(codec, sample());
      const length = encrypted.data!.length;
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: length - 1 }), fc.integer({ min: 0, max: 7 }), async (index, bit) => {
          const tampered = withData(encrypted, (data) => {
            data[index]! ^= 1 << bit;
          });
          await expect(codec.decode([tampered])).rejects.toThrow(/failed authentication: it was modified/);
        }),
        { numRuns: 150 },
      );
    });

    it('in the ciphertext, the IV and the tag specifically', async () => {
      const encrypted = await encryptOne(codec, sample());
      const last = encrypted.data!.length - 1;
      for (const index of [0, 11, 12, 20, last - 16, last - 15, last]) {
        const tampered = withData(encrypted, (data) => {
          data[index]! ^= 0xff;
        });
        await expect(codec.decode([tampered])).rejects.toBeInstanceOf(PayloadDecryptionError);
      }
    });

    it('of the key id, even when the new id names another known key', async () => {
      const other = generateCodecKey('currenu'); // 'current' with its last byte changed by one
      const both = new AesGcmPayloadCodec({ current: key, decodeKeys: [other] });
      const encrypted = await encryptOne(both, sample());
      const renamed: Payload = {
        metadata: { ...encrypted.metadata, [METADATA_KEY_ID]: text.encode('currenu') },
        data: encrypted.data!,
      };
      await expect(both.decode([renamed])).rejects.toThrow(/\(key id currenu\) failed authentication/);

      const unknown: Payload = {
        metadata: { ...encrypted.metadata, [METADATA_KEY_ID]: text.encode('curreNt') },
        data: encrypted.data!,
      };
      await expect(both.decode([unknown])).rejects.toThrow(
        /key id "curreNt", which this process does not have/,
      );
    });

    it('of the key id, even when the new id names the very same key (the id is authenticated)', async () => {
      const raw = Buffer.alloc(32, 42);
      const aliased = new AesGcmPayloadCodec({
        current: codecKey(Buffer.from(raw), 'primary'),
        decodeKeys: [codecKey(Buffer.from(raw), 'alias')],
      });
      const encrypted = await encryptOne(aliased, sample());
      const renamed: Payload = {
        metadata: { ...encrypted.metadata, [METADATA_KEY_ID]: text.encode('alias') },
        data: encrypted.data!,
      };
      await expect(aliased.decode([renamed])).rejects.toThrow(/\(key id alias\) failed authentication/);
      expect(plain(await decryptOne(aliased, encrypted))).toEqual(plain(sample()));
    });

    it('when the payload was truncated or its key id removed', async () => {
      const encrypted = await encryptOne(codec, sample());
      const truncated: Payload = { metadata: encrypted.metadata!, data: encrypted.data!.subarray(0, 20) };
      await expect(codec.decode([truncated])).rejects.toThrow(/shorter than its IV and tag/);
      const shortened: Payload = { metadata: encrypted.metadata!, data: encrypted.data!.subarray(0, 40) };
      await expect(codec.decode([shortened])).rejects.toThrow(/failed authentication/);
      const { [METADATA_KEY_ID]: _removed, ...rest } = encrypted.metadata!;
      await expect(codec.decode([{ metadata: rest, data: encrypted.data! }])).rejects.toThrow(
        /no encryption-key-id metadata/,
      );
    });

    it('without ever putting plaintext into the error', async () => {
      const encrypted = await encryptOne(codec, sample());
      const tampered = withData(encrypted, (data) => {
        data[30]! ^= 1;
      });
      const error = await codec.decode([tampered]).then(
        () => undefined,
        (thrown: Error) => thrown,
      );
      expect(error).toBeInstanceOf(PayloadDecryptionError);
      expect(`${error?.message}\n${error?.stack}`).not.toContain(MARKER);
    });
  });

  it('refuses a payload encrypted under the same id with a different key', async () => {
    const impostor = new AesGcmPayloadCodec({ current: generateCodecKey('current') });
    const encrypted = await encryptOne(impostor, sample());
    await expect(codec.decode([encrypted])).rejects.toThrow(
      /failed authentication: .*not the key it was encrypted with/,
    );
  });

  it('refuses a payload whose key it does not have, naming the id and what to do', async () => {
    const stranger = new AesGcmPayloadCodec({ current: generateCodecKey('stranger') });
    const encrypted = await encryptOne(stranger, sample());
    await expect(codec.decode([encrypted])).rejects.toThrow(
      /key id "stranger", which this process does not have \(it has current\).*GOVERNOR_CODEC_OLD_KEYS/,
    );
  });

  it('rotates: the new key encodes, the old key still decodes what it wrote', async () => {
    const raw = Buffer.alloc(32, 7);
    const oldKey = codecKey(Buffer.from(raw), 'v1');
    const newKey = generateCodecKey('v2');
    const before = new AesGcmPayloadCodec({ current: oldKey });
    const after = new AesGcmPayloadCodec({ current: newKey, decodeKeys: [codecKey(Buffer.from(raw), 'v1')] });

    const written = await encryptOne(before, sample());
    const rewritten = await encryptOne(after, sample());
    expect(meta(written, METADATA_KEY_ID)).toBe('v1');
    expect(meta(rewritten, METADATA_KEY_ID)).toBe('v2');
    expect(after.currentKeyId).toBe('v2');
    expect(after.keyIds).toEqual(['v2', 'v1']);

    expect(plain(await decryptOne(after, written))).toEqual(plain(sample()));
    expect(plain(await decryptOne(after, rewritten))).toEqual(plain(sample()));
    // the process that only had the old key cannot read the new one
    await expect(before.decode([rewritten])).rejects.toThrow(/key id "v2", which this process does not have/);
  });

  it('passes payloads that are not binary/encrypted through decode untouched', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.jsonValue(), { maxLength: 4 }),
        fc.uint8Array({ maxLength: 100 }),
        async (values, bytes) => {
          const payloads = [
            ...values.map((value) => defaultPayloadConverter.toPayload(value)),
            defaultPayloadConverter.toPayload(bytes),
            { data: bytes }, // no metadata at all
          ];
          const decoded = await codec.decode(payloads);
          decoded.forEach((payload, index) => expect(payload).toBe(payloads[index]));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('decodes a mixed batch: old plaintext payloads next to encrypted ones', async () => {
    const old = defaultPayloadConverter.toPayload({ before: 'encryption' });
    const encrypted = await encryptOne(codec, sample());
    const [first, second] = await codec.decode([old, encrypted]);
    expect(first).toBe(old);
    expect(defaultPayloadConverter.fromPayload(second!)).toEqual({ prompt: `tell me about ${MARKER}` });
  });

  it('encrypts an already encrypted payload again and peels one layer per decode', async () => {
    const once = await encryptOne(codec, sample());
    const twice = await encryptOne(codec, once);
    expect(plain(await decryptOne(codec, twice))).toEqual(plain(once));
  });

  it('refuses two different keys under one id', () => {
    expect(
      () =>
        new AesGcmPayloadCodec({ current: generateCodecKey('same'), decodeKeys: [generateCodecKey('same')] }),
    ).toThrow(/two different keys share the id same/);
  });

  it('dataConverterFromKeys gives the shape Worker.create and new Client take', async () => {
    const converter = dataConverterFromKeys({ current: key, decodeKeys: [key] });
    expect(converter.payloadCodecs).toHaveLength(1);
    const [only] = converter.payloadCodecs;
    const [encrypted] = await only!.encode([sample()]);
    expect(plain((await codec.decode([encrypted!]))[0]!)).toEqual(plain(sample()));
  });
});
