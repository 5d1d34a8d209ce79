/** Fresh request ids in the gateway's format, for tests that start completion workflows directly. */
import { randomBytes } from 'node:crypto';

export function newRequestId(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  return 'req_' + [...randomBytes(26)].map((byte) => alphabet[byte % 36]).join('');
}
