/**
 * Running frontend messages in the ledger host's PGlite and taking back its raw answer.
 *
 * `execProtocolRaw` is not used: PGlite 0.5 parses every answer it produces into message objects and
 * appends them to a list that only `execProtocol`/`query` reset, so through `execProtocolRaw` alone that
 * list (every row every client ever received) grows for the life of the host. `execProtocolRawStream`
 * hands the answer's bytes to a callback instead, parsed by nobody and kept by nobody but this function.
 * PGlite runs every message of the buffer in one call (a whole Parse/Bind/Describe/Execute/Sync pipeline,
 * or several) and its answer comes back in as many pieces as the backend flushed (one for small answers).
 */
import type { PGlite } from '@electric-sql/pglite';

export type Backend = (messages: Uint8Array) => Promise<Buffer>;

export function backendOf(db: PGlite): Backend {
  return async (messages) => {
    const pieces: Buffer[] = [];
    await db.execProtocolRawStream(messages, {
      // the callback sees a view of PGlite's WebAssembly memory, valid only during the call: copy it
      onRawData: (bytes) => pieces.push(Buffer.from(bytes)),
    });
    return pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
  };
}
