/**
 * Prepared statements the ledger host keeps for its clients. `pg` sends every parameterised query as
 * Parse/Bind/Describe/Execute/Sync of the unnamed statement, so PGlite parses, analyses and plans the
 * same few dozen statements over and over; for the ledger's statements (CTEs with several tables) that
 * is most of their cost (measured: about 1.6 ms a reservation-like statement with its Parse, 0.5 ms
 * bound to a statement prepared once).
 *
 * PGlite has one session, shared by every client, so the host prepares each statement text once under
 * a name of its own and runs every client's unnamed Parse of that text as a Parse of the empty query
 * (which answers ParseComplete at no cost) and its Bind (and Describe of the statement) against the
 * named one. Answers are byte for byte what the client expects. A text seen for the first time is
 * prepared under its new name in a PGlite call of its own (the messages before it and it), so the
 * host knows whether the Parse succeeded before it names the statement for later ones; a failed Parse
 * reaches the client as its own error. Clients' own named statements pass untouched.
 *
 * A schema change can change what a prepared statement returns (`RETURNING *` after a new column), so
 * any text that looks like DDL (a migration's script, DISCARD, DEALLOCATE) forgets every statement; the
 * host deallocates them once PGlite is idle. At most MAX_STATEMENTS are kept, texts up to MAX_TEXT_BYTES;
 * others run unnamed as before.
 */
import type { Backend } from './backend';

const PREFIX = 'gg_host_';
const MAX_STATEMENTS = 256;
/** longer texts (a multi-row INSERT built for its row count) run unnamed: they rarely repeat */
const MAX_TEXT_BYTES = 16 * 1024;
const SCHEMA_CHANGE = /\b(create|alter|drop|truncate|discard|deallocate|comment|reindex|import)\b/i;

/** what the host knows of one connection between its messages */
export interface ConnectionStatements {
  /** the host's name for this connection's unnamed statement, while it is one of the host's */
  unnamed: string | null;
}

function frame(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

const cstring = (text: string) => Buffer.from(`${text}\0`, 'utf8');
const P = 0x50;
const B = 0x42;
const D = 0x44;
const C = 0x43;
const Q = 0x51;
/** Parse of the empty query as the unnamed statement: ParseComplete, nothing else */
const EMPTY_PARSE = frame(P, Buffer.concat([cstring(''), cstring(''), Buffer.from([0, 0])]));

/** the type byte of the last complete message of a backend answer, 0 when there is none */
function lastMessageType(output: Buffer): number {
  let offset = 0;
  let type = 0;
  while (output.length - offset >= 5) {
    const length = output.readInt32BE(offset + 1);
    if (output.length - offset < 1 + length) break;
    type = output[offset] ?? 0;
    offset += 1 + length;
  }
  return type;
}

export class PreparedStatements {
  readonly #names = new Map<string, string>();
  #next = 1;
  /** names forgotten after a schema change, still to deallocate */
  #stale: string[] = [];

  /** statements kept now (tests, diagnostics) */
  get size(): number {
    return this.#names.size;
  }

  /**
   * Runs a connection's batch of complete messages (see ./server.ts) in as few PGlite calls as it can:
   * one, unless a statement text is prepared for the first time. Returns the backend's whole answer.
   */
  async run(batch: Buffer, connection: ConnectionStatements, backend: Backend): Promise<Buffer> {
    const outputs: Buffer[] = [];
    let pieces: Buffer[] = [];
    let schemaChanged = false;
    const flush = async () => {
      if (pieces.length === 0) return undefined;
      const output = await backend(pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces));
      pieces = [];
      outputs.push(output);
      return output;
    };

    let offset = 0;
    while (offset < batch.length) {
      const type = batch[offset] ?? 0;
      const size = 1 + batch.readInt32BE(offset + 1);
      const message = batch.subarray(offset, offset + size);
      offset += size;
      const body = message.subarray(5);
      if (type === P) {
        const nameEnd = body.indexOf(0);
        const textEnd = body.indexOf(0, nameEnd + 1);
        if (nameEnd !== 0) {
          pieces.push(message); // the client's own named statement
          continue;
        }
        const text = body.toString('utf8', 1, textEnd);
        const types = body.subarray(textEnd + 1);
        const key =
          types.length === 2 && types[0] === 0 && types[1] === 0 ? text : `${text}\0${types.toString('hex')}`;
        const known = this.#names.get(key);
        if (known !== undefined) {
          pieces.push(EMPTY_PARSE);
          connection.unnamed = known;
          continue;
        }
        connection.unnamed = null;
        if (SCHEMA_CHANGE.test(text)) schemaChanged = true;
        if (
          schemaChanged ||
          textEnd > MAX_TEXT_BYTES ||
          this.#names.size + this.#stale.length >= MAX_STATEMENTS
        ) {
          pieces.push(message);
          continue;
        }
        const name = `${PREFIX}${this.#next++}`;
        pieces.push(frame(P, Buffer.concat([cstring(name), body.subarray(1)])));
        const output = await flush();
        if (output !== undefined && lastMessageType(output) === 0x31 /* ParseComplete */) {
          this.#names.set(key, name);
          connection.unnamed = name;
        }
      } else if (type === B && connection.unnamed !== null && body[body.indexOf(0) + 1] === 0) {
        // Bind of the unnamed statement (empty statement name after the portal name): the host's one
        const portalEnd = body.indexOf(0);
        pieces.push(
          frame(
            B,
            Buffer.concat([
              body.subarray(0, portalEnd + 1),
              cstring(connection.unnamed),
              body.subarray(portalEnd + 2),
            ]),
          ),
        );
      } else if (type === D && connection.unnamed !== null && body[0] === 0x53 /* S */ && body[1] === 0) {
        pieces.push(frame(D, Buffer.concat([Buffer.from('S'), cstring(connection.unnamed)])));
      } else {
        if (type === Q) {
          // a simple query replaces the unnamed statement
          connection.unnamed = null;
          if (SCHEMA_CHANGE.test(body.toString('utf8', 0, body.length - 1))) schemaChanged = true;
        } else if (type === C && body[0] === 0x53 && body[1] === 0) connection.unnamed = null;
        pieces.push(message);
      }
    }
    await flush();
    if (schemaChanged) this.forget();
    return outputs.length === 1 ? (outputs[0] as Buffer) : Buffer.concat(outputs);
  }

  /** forgets every statement (deallocated by `deallocateStale` when PGlite is next idle) */
  forget(): void {
    this.#stale.push(...this.#names.values());
    this.#names.clear();
  }

  /**
   * Deallocates forgotten statements. Only while PGlite is idle (no client inside a transaction, whose
   * state an error would change): each DEALLOCATE is a query of its own, and one whose statement is
   * gone already (a client's DEALLOCATE ALL) fails alone. The answers are nobody's and are dropped.
   */
  async deallocateStale(backend: Backend): Promise<void> {
    if (this.#stale.length === 0) return;
    const names = this.#stale;
    this.#stale = [];
    await backend(Buffer.concat(names.map((name) => frame(Q, cstring(`DEALLOCATE ${name}`)))));
  }

  get hasStale(): boolean {
    return this.#stale.length > 0;
  }
}
