/**
 * Identifiers in Groq's shapes: `req_…`, `file_…`, `batch_…` are ULID-like (26 lowercase Crockford
 * base32 characters: 48 bits of time then 80 random bits), `chatcmpl-…` is a UUID. Key secrets are
 * `gsk_` followed by 52 alphanumerics.
 */
import { randomBytes, randomUUID } from 'node:crypto';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export const KEY_SECRET_PATTERN = /^gsk_[A-Za-z0-9]{52}$/;

/** 26 characters: 10 for the millisecond time, 16 random. */
export function ulid(timeMs: number): string {
  let time = Math.max(0, Math.floor(timeMs));
  let head = '';
  for (let i = 0; i < 10; i++) {
    head = CROCKFORD[time % 32] + head;
    time = Math.floor(time / 32);
  }
  const random = randomBytes(16);
  let tail = '';
  for (let i = 0; i < 16; i++) tail += CROCKFORD[(random[i] ?? 0) % 32];
  return head + tail;
}

export const requestId = (timeMs: number): string => `req_${ulid(timeMs)}`;
export const fileId = (timeMs: number): string => `file_${ulid(timeMs)}`;
export const batchId = (timeMs: number): string => `batch_${ulid(timeMs)}`;
export const batchRequestOutputId = (timeMs: number): string => `batch_req_out_${ulid(timeMs)}`;
export const completionId = (): string => `chatcmpl-${randomUUID()}`;

/** A fresh random key secret in Groq's format. */
export function generateKeySecret(): string {
  const random = randomBytes(52);
  let out = 'gsk_';
  for (let i = 0; i < 52; i++) out += ALPHANUMERIC[(random[i] ?? 0) % ALPHANUMERIC.length];
  return out;
}

/** What may be shown of a secret: `gsk_…` and its last four characters. */
export function keyFingerprint(secret: string): string {
  return `gsk_…${secret.slice(-4)}`;
}
