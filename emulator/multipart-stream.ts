/**
 * multipart/form-data read as it arrives (large uploads: the gateway's batch files): the body's pieces
 * go in, events come out: a part's headers, its data in pieces, its end. Only the unread tail (at most a
 * boundary's length, or one part's headers) is held between pieces, so memory does not grow with the
 * body. The parts are those `parseMultipart` finds in the whole body, with the same errors.
 */
import { describePart, MultipartError, type FormPart } from './multipart';

export type MultipartEvent =
  ({ type: 'part' } & Omit<FormPart, 'data'>) | { type: 'data'; data: Buffer } | { type: 'partEnd' };

/** Longest header block a part may have. */
export const MAX_PART_HEADER_BYTES = 16 * 1024;

const CRLF_CRLF = Buffer.from('\r\n\r\n');

export async function* parseMultipartStream(
  source: AsyncIterable<Buffer>,
  boundary: string,
): AsyncGenerator<MultipartEvent> {
  const delimiter = Buffer.from(`--${boundary}`);
  const separator = Buffer.from(`\r\n--${boundary}`);
  let state: 'preamble' | 'delimited' | 'headers' | 'data' | 'done' = 'preamble';
  let buffer: Buffer = Buffer.alloc(0);

  /** the events the bytes held so far allow; `ended`: no more bytes will come */
  function* drain(ended: boolean): Generator<MultipartEvent> {
    for (;;) {
      if (state === 'done') {
        buffer = Buffer.alloc(0); // the epilogue is ignored
        return;
      }
      if (state === 'preamble') {
        const at = buffer.indexOf(delimiter);
        if (at < 0) {
          if (ended) throw new MultipartError('multipart body has no boundary');
          buffer = buffer.subarray(Math.max(0, buffer.length - delimiter.length + 1));
          return;
        }
        buffer = buffer.subarray(at + delimiter.length);
        state = 'delimited';
      } else if (state === 'delimited') {
        if (buffer.length < 2) {
          if (ended) throw new MultipartError('multipart part has no header end');
          return;
        }
        if (buffer[0] === 0x2d && buffer[1] === 0x2d) {
          state = 'done';
          continue;
        }
        if (buffer[0] === 0x0d && buffer[1] === 0x0a) buffer = buffer.subarray(2);
        state = 'headers';
      } else if (state === 'headers') {
        const end = buffer.indexOf(CRLF_CRLF);
        if (end < 0) {
          if (ended || buffer.length > MAX_PART_HEADER_BYTES)
            throw new MultipartError('multipart part has no header end');
          return;
        }
        const { name, filename, contentType } = describePart(buffer.subarray(0, end).toString('utf8'));
        if (name === undefined) throw new MultipartError('multipart part has no name');
        buffer = buffer.subarray(end + CRLF_CRLF.length);
        state = 'data';
        yield {
          type: 'part',
          name,
          ...(filename !== undefined ? { filename } : {}),
          ...(contentType !== undefined ? { contentType } : {}),
        };
      } else {
        const at = buffer.indexOf(separator);
        if (at < 0) {
          if (ended) throw new MultipartError('multipart body is not terminated');
          // keep what could be the start of the separator
          const safe = buffer.length - separator.length + 1;
          if (safe > 0) {
            yield { type: 'data', data: buffer.subarray(0, safe) };
            buffer = buffer.subarray(safe);
          }
          return;
        }
        if (at > 0) yield { type: 'data', data: buffer.subarray(0, at) };
        yield { type: 'partEnd' };
        buffer = buffer.subarray(at + separator.length);
        state = 'delimited';
      }
    }
  }

  // a malformed body is read to its end before the error is thrown, so the caller can still answer
  let failure: MultipartError | undefined;
  for await (const piece of source) {
    if (failure) continue;
    buffer = buffer.length > 0 ? Buffer.concat([buffer, piece]) : piece;
    try {
      yield* drain(false);
    } catch (error) {
      if (!(error instanceof MultipartError)) throw error;
      failure = error;
      buffer = Buffer.alloc(0);
    }
  }
  if (failure) throw failure;
  yield* drain(true);
}
