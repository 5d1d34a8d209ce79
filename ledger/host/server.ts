/**
 * The ledger host's wire server: one PGlite, many PostgreSQL clients (the `pg` driver of `up`'s worker
 * and gateway, the CLI, extra workers), on a Unix socket or a loopback port.
 *
 * PGlite is one backend with one session, so clients must never interleave inside it: not their
 * transactions (a client's uncommitted rows would be visible to, and could be committed or rolled back
 * by, another), and not even one extended-protocol query (Parse/Bind/Execute/Sync of two clients mixed
 * would run one client's statement with the other's parameters). So a connection takes PGlite
 * exclusively with its first message and keeps it until the backend reports ReadyForQuery with status
 * idle ('I'): a lone query holds it from Parse to Sync, a transaction from BEGIN to COMMIT/ROLLBACK.
 * Waiting connections are served first come, first served. A connection that goes away while it holds
 * PGlite has its open query ended (Sync) and its transaction rolled back before the next one runs.
 *
 * Clients authenticate with the host's password (cleartext over the local socket; the password lives
 * in the data folder's lock file, readable by its owner only), then PGlite answers their startup.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import {
  authenticationCleartextPassword,
  CANCEL_REQUEST,
  errorResponse,
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

/** First come, first served exclusive ownership of the one PGlite session. */
class Gate {
  #owner: object | null = null;
  #waiting: Array<{ who: object; grant: () => void }> = [];

  owns(who: object): boolean {
    return this.#owner === who;
  }

  async acquire(who: object): Promise<void> {
    if (this.#owner === who) return;
    if (this.#owner === null) {
      this.#owner = who;
      return;
    }
    await new Promise<void>((grant) => this.#waiting.push({ who, grant }));
  }

  release(who: object): void {
    if (this.#owner !== who) return;
    const next = this.#waiting.shift();
    this.#owner = next?.who ?? null;
    next?.grant();
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

type Phase = 'startup' | 'password' | 'ready';

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

  async function run(bytes: Uint8Array): Promise<Uint8Array> {
    return db.execProtocolRaw(bytes);
  }

  function attach(socket: Socket): void {
    sockets.add(socket);
    const self = {};
    let phase: Phase = 'startup';
    let startup: Uint8Array | null = null;
    let buffer: Buffer = Buffer.alloc(0);
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

    async function handle(message: FrontendMessage): Promise<void> {
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
      if (phase === 'password') {
        const given = message.type === 'p' ? digest(passwordOf(message.bytes)) : Buffer.alloc(32);
        if (message.type !== 'p' || !timingSafeEqual(given, expected)) {
          end(errorResponse('28P01', 'password authentication failed for the ledger host'));
          return;
        }
        phase = 'ready';
        await exclusive(startup ?? new Uint8Array());
        return;
      }
      if (message.type === 'X') {
        end();
        return;
      }
      await exclusive(message.bytes);
    }

    async function exclusive(bytes: Uint8Array): Promise<void> {
      await gate.acquire(self);
      if (closed) return;
      const output = await run(bytes);
      if (socket.writable) socket.write(Buffer.from(output));
      if (lastReadyStatus(output).status === 'I') gate.release(self);
    }

    async function pump(): Promise<void> {
      pumping = true;
      try {
        while (!closed) {
          const next = nextMessage(buffer, phase === 'startup');
          if (next === null) break;
          if (next === 'malformed') {
            end();
            break;
          }
          buffer = buffer.subarray(next.size);
          await handle(next.message);
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

    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
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
