/**
 * AES-256-GCM payload codec: what Temporal stores is ciphertext, whatever the workflow passes.
 *
 * Encode: the whole payload (metadata and data) is serialized as a `temporal.api.common.v1.Payload`,
 * encrypted with the current key and a random 12-byte IV, and wrapped in a new payload:
 *
 *   metadata: { encoding: "binary/encrypted", encryption-key-id: <id>, encryption-cipher: "AES-256-GCM" }
 *   data:     IV (12 bytes) || ciphertext || GCM tag (16 bytes)
 *
 * The key id is authenticated too (it is the GCM additional data), so changing it is detected like any
 * other change. Decode picks the key the payload names, so payloads written under an older key still
 * decode while new ones use the current key (rotation). Payloads not marked `binary/encrypted` pass
 * through untouched: histories written before encryption was switched on still replay.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
// a CommonJS package: Node's ESM loader only offers its default export
import proto from '@temporalio/proto';

const { temporal } = proto;
import type { CodecKey } from './keys';

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_ENCODING = 'encoding';
export const METADATA_KEY_ID = 'encryption-key-id';
export const METADATA_CIPHER = 'encryption-cipher';
export const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const ProtoPayload = temporal.api.common.v1.Payload;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: false });

/** A payload that cannot be decrypted: unknown key, malformed, or modified. Never contains plaintext. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

function additionalData(keyId: string): Uint8Array {
  return utf8.encode(`groq-governor/${CIPHER}/v1 key=${keyId}`);
}

function metadataText(payload: Payload, name: string): string | undefined {
  const value = payload.metadata?.[name];
  return value == null ? undefined : fromUtf8.decode(value);
}

/** True when the payload carries this codec's `binary/encrypted` encoding. */
export function isEncryptedPayload(payload: Payload): boolean {
  return metadataText(payload, METADATA_ENCODING) === ENCODING_ENCRYPTED;
}

export interface AesGcmCodecOptions {
  /** encrypts every payload */
  current: CodecKey;
  /** further keys that may decrypt (older keys kept for rotation); the current key always may */
  decodeKeys?: CodecKey[];
}

export class AesGcmPayloadCodec implements PayloadCodec {
  readonly currentKeyId: string;
  readonly #current: CodecKey;
  readonly #keys = new Map<string, CodecKey>();

  constructor(options: AesGcmCodecOptions) {
    this.#current = options.current;
    this.currentKeyId = options.current.id;
    for (const key of [options.current, ...(options.decodeKeys ?? [])]) {
      const known = this.#keys.get(key.id);
      if (known !== undefined && !known.key.equals(key.key)) {
        throw new Error(`two different keys share the id ${key.id}: every key id must name one key`);
      }
      this.#keys.set(key.id, key);
    }
  }

  /** Ids this codec can decrypt, the current one first. */
  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encryptOne(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncryptedPayload(payload) ? this.decryptOne(payload) : payload));
  }

  private encryptOne(payload: Payload): Payload {
    const { id, key } = this.#current;
    const plaintext = ProtoPayload.encode(payload).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(id));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      metadata: {
        [METADATA_ENCODING]: utf8.encode(ENCODING_ENCRYPTED),
        [METADATA_KEY_ID]: utf8.encode(id),
        [METADATA_CIPHER]: utf8.encode(CIPHER),
      },
      data: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]),
    };
  }

  private decryptOne(payload: Payload): Payload {
    const keyId = metadataText(payload, METADATA_KEY_ID);
    if (keyId === undefined || keyId === '') {
      throw new PayloadDecryptionError(
        `an encrypted payload has no ${METADATA_KEY_ID} metadata: it was not written by this codec or was modified`,
      );
    }
    const cipherName = metadataText(payload, METADATA_CIPHER);
    if (cipherName !== undefined && cipherName !== CIPHER) {
      throw new PayloadDecryptionError(
        `an encrypted payload uses cipher ${cipherName}; only ${CIPHER} is supported`,
      );
    }
    const known = this.#keys.get(keyId);
    if (known === undefined) {
      throw new PayloadDecryptionError(
        `a payload was encrypted with key id ${JSON.stringify(keyId)}, which this process does not have ` +
          `(it has ${this.keyIds.join(', ')}). After a rotation, keep the old key in GOVERNOR_CODEC_OLD_KEYS.`,
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadDecryptionError(
        `an encrypted payload (key id ${keyId}) is ${data.length} bytes, shorter than its IV and tag: it was truncated`,
      );
    }
    const iv = data.subarray(0, IV_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const ciphertext = data.subarray(IV_BYTES, data.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', known.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(keyId));
    decipher.setAuthTag(tag);
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(
        `an encrypted payload (key id ${keyId}) failed authentication: it was modified, ` +
          'or the key configured under that id is not the key it was encrypted with',
      );
    }
    try {
      return ProtoPayload.decode(plaintext);
    } catch {
      throw new PayloadDecryptionError(
        `an encrypted payload (key id ${keyId}) does not hold a Temporal payload`,
      );
    }
  }
}
