/**
 * The gateway key format: `ggk_<publicId>_<secret>`.
 * - `publicId`: 12 base62 characters, public; the ledger finds the key by it (its `prefix` column).
 * - `secret`: 40 base62 characters (about 238 bits) from `crypto.randomBytes`; only its SHA-256 is stored.
 * Characters are drawn without modulo bias (bytes >= 248 are discarded and redrawn).
 */
import { randomBytes } from 'node:crypto';

export const KEY_SCHEME = 'ggk';
export const PUBLIC_ID_LENGTH = 12;
export const SECRET_LENGTH = 40;
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** the exact length of a well-formed key: `ggk_` + 12 + `_` + 40 */
export const KEY_LENGTH = KEY_SCHEME.length + 1 + PUBLIC_ID_LENGTH + 1 + SECRET_LENGTH;

const KEY_PATTERN = new RegExp(
  `^${KEY_SCHEME}_([0-9A-Za-z]{${PUBLIC_ID_LENGTH}})_([0-9A-Za-z]{${SECRET_LENGTH}})$`,
);
/** the largest multiple of 62 that fits a byte: bytes at or above it would bias the draw */
const UNBIASED_LIMIT = 62 * 4;

/** `length` characters of base62 from the system's CSPRNG. */
export function randomBase62(length: number, random: (size: number) => Buffer = randomBytes): string {
  let out = '';
  while (out.length < length) {
    for (const byte of random(length * 2)) {
      if (byte >= UNBIASED_LIMIT) continue;
      out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export interface ParsedKey {
  publicId: string;
  secret: string;
}

/** A fresh key: its public id, its secret and the full text shown once to its owner. */
export function generateKey(): ParsedKey & { key: string } {
  const publicId = randomBase62(PUBLIC_ID_LENGTH);
  const secret = randomBase62(SECRET_LENGTH);
  return { publicId, secret, key: formatKey(publicId, secret) };
}

export function formatKey(publicId: string, secret: string): string {
  return `${KEY_SCHEME}_${publicId}_${secret}`;
}

/** The ledger id of the key with this public id. */
export function keyIdFor(publicId: string): string {
  return `key_${publicId}`;
}

/**
 * The public id and secret of a presented key, or null when it is not one. Accepts the bare key or an
 * `Authorization` header value (`Bearer <key>`, scheme case-insensitive). Anything longer than a header
 * holding one key could be is refused before any pattern runs.
 */
export function parseKey(presented: string): ParsedKey | null {
  if (typeof presented !== 'string' || presented.length > KEY_LENGTH + 32) return null;
  let text = presented.trim();
  const space = text.indexOf(' ');
  if (space !== -1) {
    if (text.slice(0, space).toLowerCase() !== 'bearer') return null;
    text = text.slice(space + 1).trim();
  }
  if (text.length !== KEY_LENGTH) return null;
  const match = KEY_PATTERN.exec(text);
  if (!match || match[1] === undefined || match[2] === undefined) return null;
  return { publicId: match[1], secret: match[2] };
}
