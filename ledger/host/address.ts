/** Where a ledger host listens for a folder: a Unix socket beside it, or a loopback port. */
import { dirname, resolve } from 'node:path';
import type { ListenAddress } from './server';

/** Unix socket paths are limited to 107 bytes (sun_path); longer ones fall back to a loopback port. */
const MAX_SOCKET_PATH = 100;
export const SOCKET_PORT = 5432;

export function listenAddressFor(ledgerDir: string): ListenAddress {
  const path = `${dirname(resolve(ledgerDir))}/.s.PGSQL.${SOCKET_PORT}`;
  if (process.platform !== 'win32' && Buffer.byteLength(path) <= MAX_SOCKET_PATH) return { path };
  return { host: '127.0.0.1', port: 0 };
}
