/**
 * A TCP relay in front of PostgreSQL that counts the SQL statements its clients send, for benchmarks
 * whose worker is another process (`bench:batch --worker-process`): the worker (and its egress) get
 * the relay's address in DATABASE_URL, so every statement they send is counted on the wire, whatever
 * code sent it. Counted from the client's messages of PostgreSQL's protocol (v3): each simple Query
 * ('Q', e.g. BEGIN and COMMIT from node-postgres) and each Execute ('E', a parameterized statement) is
 * one statement. Nothing is changed on the way.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface WireCounter {
  /** the relay's address, for DATABASE_URL */
  port: number;
  /** statements counted since start (or the last reset) */
  statements(): number;
  /** simple queries among them (BEGIN, COMMIT, ROLLBACK and other unparameterized statements) */
  simpleQueries(): number;
  reset(): void;
  close(): Promise<void>;
}

/** Counts the statements in the client's half of one connection (the relay feeds it every piece). */
export class FrontendMessageCounter {
  #buffer: Buffer = Buffer.alloc(0);
  #started = false;
  statements = 0;
  simple = 0;

  push(piece: Buffer): void {
    this.#buffer = this.#buffer.length > 0 ? Buffer.concat([this.#buffer, piece]) : piece;
    for (;;) {
      if (!this.#started) {
        // untyped start-up messages: an SSLRequest / GSSENCRequest (then the real one), or the start-up
        if (this.#buffer.length < 8) return;
        const length = this.#buffer.readInt32BE(0);
        if (this.#buffer.length < length) return;
        const code = this.#buffer.readInt32BE(4);
        if (code !== 80877103 && code !== 80877104) this.#started = true;
        this.#buffer = this.#buffer.subarray(length);
        continue;
      }
      if (this.#buffer.length < 5) return;
      const length = this.#buffer.readInt32BE(1);
      if (this.#buffer.length < 1 + length) return;
      const type = this.#buffer[0];
      if (type === 0x51 /* Q */) {
        this.statements++;
        this.simple++;
      } else if (type === 0x45 /* E */) this.statements++;
      this.#buffer = this.#buffer.subarray(1 + length);
    }
  }
}

export async function startWireCounter(target: { host: string; port: number }): Promise<WireCounter> {
  const counters = new Set<FrontendMessageCounter>();
  let baseStatements = 0;
  let baseSimple = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const counter = new FrontendMessageCounter();
    counters.add(counter);
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.on('data', (piece: Buffer) => counter.push(piece));
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      baseStatements += counter.statements;
      baseSimple += counter.simple;
      counter.statements = 0;
      counter.simple = 0;
      counters.delete(counter);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const sum = (pick: (counter: FrontendMessageCounter) => number) =>
    [...counters].reduce((total, counter) => total + pick(counter), 0);
  return {
    port,
    statements: () => baseStatements + sum((counter) => counter.statements),
    simpleQueries: () => baseSimple + sum((counter) => counter.simple),
    reset() {
      baseStatements = 0;
      baseSimple = 0;
      for (const counter of counters) {
        counter.statements = 0;
        counter.simple = 0;
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
