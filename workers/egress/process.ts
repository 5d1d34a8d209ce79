/**
 * An egress process: started by its worker (./spawn.ts) with its settings over IPC, it serves the
 * worker's Groq calls (./server.ts) on the ledger given by DATABASE_URL. When the worker goes away (it
 * exited, or was killed) or a signal asks it to stop, the egress stops accepting, lets every call in
 * flight receive and journal its answer, and exits.
 */
import { openPostgres } from '../../ledger/driver-postgres';
import { UpstreamCallJournal } from '../../ledger/upstream-calls';
import { startEgress, type RunningEgress } from './server';

export interface EgressSettings {
  type: 'start';
  upstreamBaseUrl: string;
  token: string;
  identity: string;
  callTimeoutMs: number;
}

export type EgressMessage =
  { type: 'ready'; url: string } | { type: 'log'; line: string } | { type: 'failed'; message: string };

function tell(message: EgressMessage): void {
  if (process.connected) process.send?.(message);
}

let egress: RunningEgress | undefined;
let ledgerClose: (() => Promise<void>) | undefined;
let stopping = false;

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await egress?.close();
  await ledgerClose?.().catch(() => undefined);
  process.exit(0);
}

process.once('message', (message: EgressSettings) => {
  void (async () => {
    try {
      const databaseUrl = process.env.DATABASE_URL;
      if (!databaseUrl) throw new Error('an egress needs DATABASE_URL (its journal is the shared ledger)');
      // the pg driver alone (no PGlite, no migrations: the worker applied them)
      const sql = await openPostgres({
        url: databaseUrl,
        poolSize: 8,
        applicationName: 'groq-governor-egress',
      });
      ledgerClose = () => sql.close();
      egress = await startEgress({
        journal: new UpstreamCallJournal(sql),
        upstreamBaseUrl: message.upstreamBaseUrl,
        token: message.token,
        identity: message.identity,
        callTimeoutMs: message.callTimeoutMs,
        log: (line) => tell({ type: 'log', line }),
      });
      if (stopping) return;
      tell({ type: 'ready', url: egress.url });
    } catch (error) {
      tell({ type: 'failed', message: (error as Error).message });
      process.exit(1);
    }
  })();
});
// the worker is gone (exited, or killed): finish what is in flight, then go too
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
