/**
 * A bare PostgreSQL wire client for the ledger host tests: it writes whatever bytes a test gives it, in
 * as many writes as the test wants (whole pipelines at once, a message cut in two), which `pg` never
 * does, and reads the backend's messages back.
 */
import { connect, type Socket } from 'node:net';

export interface BackendMessage {
  type: string;
  body: Buffer;
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

const cstring = (text: string) => Buffer.from(`${text}\0`, 'utf8');
const int16 = (value: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(value);
  return b;
};
const int32 = (value: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
};

export const wire = {
  query: (sql: string) => message('Q', cstring(sql)),
  parse: (sql: string) => message('P', Buffer.concat([cstring(''), cstring(sql), int16(0)])),
  bind: (params: string[]) =>
    message(
      'B',
      Buffer.concat([
        cstring(''),
        cstring(''),
        int16(0),
        int16(params.length),
        ...params.flatMap((p) => [int32(Buffer.byteLength(p)), Buffer.from(p, 'utf8')]),
        int16(0),
      ]),
    ),
  describePortal: () => message('D', Buffer.concat([Buffer.from('P'), cstring('')])),
  execute: () => message('E', Buffer.concat([cstring(''), int32(0)])),
  sync: () => message('S', Buffer.alloc(0)),
  terminate: () => message('X', Buffer.alloc(0)),
  /** what `pg` sends for one parameterised query */
  extended: (sql: string, params: string[]) =>
    Buffer.concat([wire.parse(sql), wire.bind(params), wire.describePortal(), wire.execute(), wire.sync()]),
};

export class RawClient {
  readonly socket: Socket;
  #buffer = Buffer.alloc(0);
  #received: BackendMessage[] = [];
  #waiters: Array<() => void> = [];
  #closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 5) {
        const length = this.#buffer.readInt32BE(1);
        if (this.#buffer.length < 1 + length) break;
        this.#received.push({
          type: String.fromCharCode(this.#buffer[0] ?? 0),
          body: this.#buffer.subarray(5, 1 + length),
        });
        this.#buffer = this.#buffer.subarray(1 + length);
      }
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  #wake() {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  /** connects to the host's socket folder (port 5432), authenticates and waits for ReadyForQuery */
  static async open(socketPath: string, password: string): Promise<RawClient> {
    const socket = connect(socketPath);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    const params = Buffer.concat([
      cstring('user'),
      cstring('postgres'),
      cstring('database'),
      cstring('postgres'),
      Buffer.from([0]),
    ]);
    const startup = Buffer.concat([int32(8 + params.length), int32(196608), params]);
    socket.write(startup);
    const [auth] = await client.read(1);
    if (auth?.type !== 'R') throw new Error(`expected an authentication request, got ${auth?.type}`);
    socket.write(message('p', cstring(password)));
    await client.readUntilReady(1);
    return client;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** the next `count` messages */
  async read(count: number): Promise<BackendMessage[]> {
    while (this.#received.length < count) {
      if (this.#closed) throw new Error('the host closed the connection');
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.#received.splice(0, count);
  }

  /** every message up to and including the `count`-th ReadyForQuery */
  async readUntilReady(count: number): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    let ready = 0;
    while (ready < count) {
      const [next] = await this.read(1);
      if (!next) continue;
      out.push(next);
      if (next.type === 'Z') ready++;
    }
    return out;
  }

  /** resolves when the host has closed the connection */
  async closed(): Promise<void> {
    while (!this.#closed) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** the text values of the DataRows among `messages` (one column each) */
export function firstColumns(messages: BackendMessage[]): string[] {
  return messages
    .filter((m) => m.type === 'D')
    .map((m) => {
      const length = m.body.readInt32BE(2);
      return m.body.toString('utf8', 6, 6 + length);
    });
}

/** the SQLSTATE codes of the ErrorResponses among `messages` */
export function errorCodes(messages: BackendMessage[]): string[] {
  return messages
    .filter((m) => m.type === 'E')
    .map((m) => {
      // fields: a type byte and a NUL-terminated value each, then a NUL
      let at = 0;
      while (at < m.body.length && m.body[at] !== 0) {
        const end = m.body.indexOf(0, at + 1);
        if (m.body[at] === 0x43 /* C */) return m.body.toString('utf8', at + 1, end);
        at = end + 1;
      }
      return '';
    });
}
