/**
 * A ledger host process: owns one embedded PGlite folder and serves it over the PostgreSQL wire
 * protocol (./server.ts) until told to stop, so PGlite runs off the event loops of the processes that
 * use it. Started by `up` (./spawn.ts) with the folder as its argument.
 *
 * It stops when its parent says so or goes away (the IPC channel closes, e.g. `kill -9` of `up`):
 * it ends every connection, closes PGlite cleanly and removes its lock. Ctrl-C in a terminal reaches
 * the whole process group; the host ignores it and waits for `up`, whose worker still drains.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { claimDataDir, type DataDirClaim, type HostEndpoint } from '../data-dir-owner';
import { createPglite, initDataDirApart } from '../driver-pglite';
import type { HostMessage, ParentMessage } from './messages';
import { listenAddressFor, SOCKET_PORT } from './address';
import { serveLedger, type LedgerServer } from './server';

/**
 * The password clients present, kept beside the folder (owner-only) so that pools of processes that
 * outlive a host restart (an extra worker) reconnect to the next host on the same socket.
 */
async function hostPassword(ledgerDir: string): Promise<string> {
  const path = `${ledgerDir}.host-password`;
  const kept = (await readFile(path, 'utf8').catch(() => '')).trim();
  if (kept.length >= 32) return kept;
  const password = randomBytes(24).toString('base64url');
  await writeFile(path, password, { mode: 0o600 });
  return password;
}

const send = (message: HostMessage) => process.send?.(message);

async function main(ledgerDir: string): Promise<void> {
  let claim: DataDirClaim | null = null;
  let db: PGlite | undefined;
  let server: LedgerServer | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await server?.close().catch(() => undefined);
      if (db && !db.closed) await db.close().catch(() => undefined);
      await claim?.release().catch(() => undefined);
      process.exit(0);
    })());
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop());
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stop') void stop();
  });

  try {
    await mkdir(ledgerDir, { recursive: true });
    claim = await claimDataDir(ledgerDir, { waitMs: 10_000 });
    if (claim === null) throw new Error('unreachable');
    await initDataDirApart(ledgerDir);
    db = await createPglite(ledgerDir);
    const password = await hostPassword(ledgerDir);
    server = await serveLedger(db, {
      listen: listenAddressFor(ledgerDir),
      password,
      log: (line) => console.error(line),
    });
    const endpoint: HostEndpoint =
      'path' in server.address
        ? { host: dirname(server.address.path), port: SOCKET_PORT, password }
        : { host: server.address.host, port: server.address.port, password };
    await claim.publish(endpoint);
    send({ type: 'ready', pid: process.pid, endpoint: { host: endpoint.host, port: endpoint.port } });
  } catch (error) {
    send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    await stop();
  }
}

const folder = process.argv[2];
if (!process.send || folder === undefined) {
  console.error('a ledger host is started by ledger/host/spawn.ts, with an IPC channel and its folder');
  process.exit(2);
}
await main(folder);
