/**
 * Just enough of the PostgreSQL wire protocol (v3) for the ledger host to frame what clients send, to
 * see where a client's unit of work ends (the backend's ReadyForQuery status) and to answer the few
 * messages PGlite does not handle itself (SSL/GSS negotiation, the password exchange).
 */

export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;
export const PROTOCOL_3 = 196608;

/** One frontend message: `type` is null for the untyped first message (startup, SSL, cancel). */
export interface FrontendMessage {
  type: string | null;
  bytes: Uint8Array;
}

/**
 * The first complete message at the front of `buffer`, or null while it is incomplete. `untyped`: the
 * message has no type byte (startup, SSL, GSS and cancel requests come first on a connection).
 */
export function nextMessage(
  buffer: Buffer,
  untyped: boolean,
): { message: FrontendMessage; size: number } | null | 'malformed' {
  if (untyped) {
    if (buffer.length < 4) return null;
    const length = buffer.readInt32BE(0);
    if (length < 8 || length > 10_000) return 'malformed';
    if (buffer.length < length) return null;
    return { message: { type: null, bytes: buffer.subarray(0, length) }, size: length };
  }
  if (buffer.length < 5) return null;
  const length = buffer.readInt32BE(1);
  if (length < 4) return 'malformed';
  if (buffer.length < 1 + length) return null;
  const type = String.fromCharCode(buffer[0] ?? 0);
  return { message: { type, bytes: buffer.subarray(0, 1 + length) }, size: 1 + length };
}

/**
 * The complete messages at the front of `buffer` that go to the backend together: all of them, up to
 * `maxBytes` (at least one), stopping before a Terminate ('X'). `size` is how many bytes they take,
 * `terminate` whether a Terminate follows them (it is consumed: `size` excludes it, `consumed` does not).
 * Nothing complete: size 0.
 */
export function frontendBatch(
  buffer: Buffer,
  maxBytes: number,
): { size: number; consumed: number; terminate: boolean } | 'malformed' {
  let offset = 0;
  while (buffer.length - offset >= 5) {
    const length = buffer.readInt32BE(offset + 1);
    if (length < 4) return 'malformed';
    if (buffer.length - offset < 1 + length) break;
    if (buffer[offset] === 0x58 /* X */)
      return { size: offset, consumed: offset + 1 + length, terminate: true };
    if (offset > 0 && offset + 1 + length > maxBytes) break;
    offset += 1 + length;
  }
  return { size: offset, consumed: offset, terminate: false };
}

/**
 * The transaction status of the backend's output when it ends with ReadyForQuery ('I' idle, 'T' in a
 * transaction, 'E' in a failed one); null when its last message is anything else (the client's work is
 * not finished: more of its pipeline ran after its last Sync, or it has not sent one yet).
 */
export function finalReadyStatus(output: Uint8Array): string | null {
  const view = Buffer.from(output.buffer, output.byteOffset, output.byteLength);
  let offset = 0;
  let status: string | null = null;
  while (view.length - offset >= 5) {
    const length = view.readInt32BE(offset + 1);
    if (view.length - offset < 1 + length) return null;
    status =
      view[offset] === 0x5a /* Z */ && length === 5 ? String.fromCharCode(view[offset + 5] ?? 0) : null;
    offset += 1 + length;
  }
  return offset === view.length ? status : null;
}

/** The code of an untyped message: a protocol version, or an SSL/GSS/cancel request code. */
export function startupCode(bytes: Uint8Array): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readInt32BE(4);
}

/**
 * The transaction status of the last ReadyForQuery in a backend's output: 'I' idle, 'T' in a
 * transaction, 'E' in a failed transaction; null when the output holds none.
 */
export function lastReadyStatus(output: Uint8Array, from = 0): { status: string | null; next: number } {
  const view = Buffer.from(output.buffer, output.byteOffset, output.byteLength);
  let status: string | null = null;
  let offset = from;
  while (view.length - offset >= 5) {
    const length = view.readInt32BE(offset + 1);
    if (view.length - offset < 1 + length) break;
    if (view[offset] === 0x5a /* Z */ && length === 5) status = String.fromCharCode(view[offset + 5] ?? 0);
    offset += 1 + length;
  }
  return { status, next: offset };
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

function cstring(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);
}

export const SYNC = message('S', Buffer.alloc(0));

export function simpleQuery(sql: string): Buffer {
  return message('Q', cstring(sql));
}

export function authenticationCleartextPassword(): Buffer {
  const body = Buffer.alloc(4);
  body.writeInt32BE(3, 0);
  return message('R', body);
}

export function errorResponse(code: string, text: string): Buffer {
  return message(
    'E',
    Buffer.concat([
      Buffer.from('S'),
      cstring('FATAL'),
      Buffer.from('V'),
      cstring('FATAL'),
      Buffer.from('C'),
      cstring(code),
      Buffer.from('M'),
      cstring(text),
      Buffer.from([0]),
    ]),
  );
}

/** The password in a PasswordMessage ('p'). */
export function passwordOf(bytes: Uint8Array): string {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = view.indexOf(0, 5);
  return view.toString('utf8', 5, end === -1 ? view.length : end);
}
