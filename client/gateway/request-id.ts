/** Request ids in the gateway's format (see domain/request-ids.ts): `req_` and 26 base-36 characters. */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

export function newRequestId(): string {
  // 26 characters from 26 random bytes; the modulo bias over 256/36 is irrelevant for an identifier
  let id = 'req_';
  for (const byte of randomBytes(26)) id += ALPHABET[byte % 36];
  return id;
}
