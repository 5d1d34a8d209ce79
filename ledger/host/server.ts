/**
 * The ledger host's wire server: one PGlite, many PostgreSQL clients (the `pg` driver of `up`'s worker
 * and gateway, the CLI, extra workers), on a Unix socket or a loopback port.
 *
 * PGlite is one backend with one session, so clients must never interleave inside it: not their
 * transactions (a client's uncommitted rows would be visible to, and could be committed or rolled back
 * by, another), and not even one extended-protocol query (Parse/Bind/Execute/Sync of two clients mixed
 * would run one client's statement with the other's parameters). So a connection takes PGlite
 * exclusively with its first message and keeps it until the backend's answer ends with ReadyForQuery
 * with status idle ('I'): a lone query holds it from Parse to Sync, a transaction from BEGIN to
 * COMMIT/ROLLBACK. Waiting connections are served first come, first served. A connection that goes away
 * while it holds PGlite has its open query ended (Sync) and its transaction rolled back before the next
 * one runs.
 *
 * Every complete message a connection has buffered goes to PGlite in one call, and its answer back in one
 * write: `pg` sends a parameterised query's Parse/Bind/Describe/Execute/Sync in one write, so a statement
 * costs one PGlite call and one write each way, not five. A batch may hold several queries of one client
 * (a pipeline); the connection keeps PGlite until the answer to its whole batch ends idle, so nothing of
 * another client runs between them either.
 *
 * Clients authenticate with the host's password (cleartext over the local socket; the password lives
 * in the data folder's lock file, readable by its owner only), then PGlite answers their startup.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { backendOf } from './backend';
import { Gate } from './gate';
import { PreparedStatements, type ConnectionStatements } from './prepared';
import {
  authenticationCleartextPassword,
  CANCEL_REQUEST,
  errorResponse,
  finalReadyStatus,
  frontendBatch,
  GSSENC_REQUEST,
  lastReadyStatus,
  nextMessage,
  passwordOf,
  PROTOCOL_3,
  simpleQuery,
  SSL_REQUEST,
  startupCode,
  SYNC,
  type FrontendMessage,
} from './wire';

export type ListenAddress = { path: string } | { host: string; port: number };

export interface LedgerServer {
  address: ListenAddress;
  /** connections open now */
  connections(): number;
  /** stop accepting, end every connection (rolling back what they left open) */
  close(): Promise<void>;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

type Phase = 'startup' | 'password' | 'ready';

/** the most bytes of messages one PGlite call takes from a connection (a larger single message still goes) */
const MAX_BATCH_BYTES = 1 << 20;

export async function serveLedger(
  db: PGlite,
  options: { listen: ListenAddress; password: string; log?: (line: string) => void },
): Promise<LedgerServer> {
  const log = options.log ?? (() => undefined);
  const gate = new Gate();
  const expected = digest(options.password);
  const sockets = new Set<Socket>();
  /** the work of every connection; close() waits for it */
  const pumps = new Set<Promise<void>>();

  const run = backendOf(db);
  const prepared = new PreparedStatements();

  function attach(socket: Socket): void {
    sockets.add(socket);
    const self = {};
    const statements: ConnectionStatements = { unnamed: null };
    let phase: Phase = 'startup';
    let startup: Uint8Array | null = null;
    /** received and not yet run: `buffer`, then the chunks that `arrived` after it was last looked at */
    let buffer: Buffer = Buffer.alloc(0);
    let arrived: Buffer[] = [];
    let closed = false;
    let pumping = false;

    const end = (reply?: Buffer) => {
      closed = true;
      if (reply && socket.writable) socket.end(reply);
      else socket.destroy();
    };

    /** ends whatever the connection left open in PGlite, then lets the next connection in (once) */
    let left: Promise<void> | undefined;
    const leave = (): Promise<void> =>
      (left ??= (async () => {
        if (!gate.owns(self)) return;
        try {
          const status = lastReadyStatus(await run(SYNC)).status;
          if (status !== 'I') await run(simpleQuery('ROLLBACK'));
        } catch (error) {
          log(`ledger host: cleaning up after a closed connection failed: ${String(error)}`);
        } finally {
          gate.release(self);
        }
      })());

    /** startup and password: one message at a time, answered here (PGlite only sees the startup) */
    async function handshake(message: FrontendMessage): Promise<void> {
      if (phase === 'startup') {
        const code = startupCode(message.bytes);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          socket.write('N');
          return;
        }
        if (code === CANCEL_REQUEST || code !== PROTOCOL_3) {
          end();
          return;
        }
        startup = Uint8Array.from(message.bytes);
        phase = 'password';
        socket.write(authenticationCleartextPassword());
        return;
      }
      const given = message.type === 'p' ? digest(passwordOf(message.bytes)) : Buffer.alloc(32);
      if (message.type !== 'p' || !timingSafeEqual(given, expected)) {
        end(errorResponse('28P01', 'password authentication failed for the ledger host'));
        return;
      }
      phase = 'ready';
      await exclusive(Buffer.from(startup ?? new Uint8Array()), true);
    }

    /** runs `messages` once this connection owns PGlite; lets go when the answer ends idle */
    async function exclusive(messages: Buffer, isStartup = false): Promise<void> {
      const turn = gate.acquire(self);
      if (turn) await turn;
      if (closed) return;
      const output = isStartup ? await run(messages) : await prepared.run(messages, statements, run);
      if (output.length > 0 && socket.writable) socket.write(output);
      if (finalReadyStatus(output) !== 'I') return;
      if (prepared.hasStale) await prepared.deallocateStale(run);
      gate.release(self);
    }

    /** what arrived since the last look, joined to what is left over (one copy per look, not per chunk) */
    function input(): Buffer {
      if (arrived.length > 0) {
        buffer =
          buffer.length === 0 && arrived.length === 1
            ? (arrived[0] as Buffer)
            : Buffer.concat([buffer, ...arrived]);
        arrived = [];
      }
      return buffer;
    }

    async function pump(): Promise<void> {
      pumping = true;
      try {
        while (!closed) {
          if (phase !== 'ready') {
            const next = nextMessage(input(), phase === 'startup');
            if (next === null) break;
            if (next === 'malformed') {
              end();
              break;
            }
            buffer = buffer.subarray(next.size);
            await handshake(next.message);
            continue;
          }
          const batch = frontendBatch(input(), MAX_BATCH_BYTES);
          if (batch === 'malformed') {
            end();
            break;
          }
          if (batch.consumed === 0) break;
          const messages = buffer.subarray(0, batch.size);
          buffer = buffer.subarray(batch.consumed);
          if (batch.size > 0) await exclusive(messages);
          if (batch.terminate) end(Buffer.alloc(0)); // after the answers already written
        }
      } catch (error) {
        log(`ledger host: a connection failed: ${String(error)}`);
        end();
      } finally {
        // still "pumping" while leaving, so a close event meanwhile starts no second pump
        if (closed) await leave();
        pumping = false;
      }
    }

    const kick = () => {
      if (pumping) return;
      const work = pump();
      pumps.add(work);
      void work.finally(() => pumps.delete(work));
    };

    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      arrived.push(chunk);
      kick();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      closed = true;
      kick();
    });
  }

  const server: Server = createServer(attach);
  const listen = options.listen;
  if ('path' in listen) await rm(listen.path, { force: true });
  const address = await new Promise<ListenAddress>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      const bound = server.address();
      resolve(
        'path' in listen
          ? listen
          : { host: listen.host, port: typeof bound === 'object' && bound ? bound.port : listen.port },
      );
    };
    if ('path' in listen) server.listen(listen.path, done);
    else server.listen(listen.port, listen.host, done);
  });
  if ('path' in address) await chmod(address.path, 0o600);

  return {
    address,
    connections: () => sockets.size,
    async close() {
      const closedServer = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closedServer;
      while (pumps.size > 0) await Promise.all([...pumps]);
    },
  };
}
