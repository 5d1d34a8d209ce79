/**
 * A batch file upload (`POST /openai/v1/files`) read as it streams in, under the text rule: `purpose`
 * is "batch", the file's name has at most `FIELD_LIMITS.filename` characters and no NUL, and its
 * content is valid UTF-8 without NUL (the ledger keeps it as text). The content is decoded and written
 * to the ledger a chunk at a time while it arrives (`FileChunkWriter`), so the gateway holds at most a
 * chunk of it; an upload that breaks a rule reads on to the end (without storing), is refused with the
 * first problem in the order purpose, file, file name, UTF-8, text, and the caller discards what was
 * written. The JSON inside each line is checked line by line when a batch validates it.
 */
import { TextDecoder } from 'node:util';
import { FIELD_LIMITS } from '../../domain/admin-requests';
import { textFault } from '../../domain/text-input';
import { parseMultipartStream } from '../../emulator/multipart-stream';

export type ReceivedUpload =
  { ok: true; filename: string; bytes: number } | { ok: false; message: string; param: string };

/** Where the decoded content goes (the ledger's chunk writer). */
export interface UploadSink {
  append(text: string): Promise<void>;
  flush(): Promise<void>;
}

/** Longest `purpose` value kept (the only accepted value is "batch"). */
const MAX_PURPOSE_BYTES = 64;

export async function receiveUpload(
  body: AsyncIterable<Buffer>,
  boundary: string,
  sink: UploadSink,
): Promise<ReceivedUpload> {
  let purposeBytes: Buffer[] | undefined;
  let purposeLength = 0;
  let filename: string | undefined;
  let current: 'purpose' | 'file' | 'other' = 'other';
  let decoder: TextDecoder | undefined;
  let bytes = 0;
  let nameFault: string | undefined;
  let utf8Fault = false;
  let contentFault: string | undefined;

  const decode = async (data?: Buffer) => {
    if (!decoder || utf8Fault || contentFault || nameFault) return;
    let text: string;
    try {
      text = data ? decoder.decode(data, { stream: true }) : decoder.decode();
    } catch {
      utf8Fault = true;
      return;
    }
    const fault = textFault(text, 'the file');
    if (fault) contentFault = fault.message;
    else await sink.append(text);
  };

  for await (const event of parseMultipartStream(body, boundary)) {
    if (event.type === 'part') {
      current = 'other';
      if (event.name === 'purpose' && purposeBytes === undefined) {
        current = 'purpose';
        purposeBytes = [];
      } else if (event.name === 'file' && filename === undefined) {
        current = 'file';
        filename = event.filename ?? 'batch.jsonl';
        nameFault = textFault(filename, 'filename', FIELD_LIMITS.filename)?.message;
        decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
      }
    } else if (event.type === 'data') {
      if (current === 'file') {
        bytes += event.data.length;
        await decode(event.data);
      } else if (current === 'purpose' && purposeLength <= MAX_PURPOSE_BYTES) {
        purposeBytes!.push(Buffer.from(event.data));
        purposeLength += event.data.length;
      }
    } else {
      if (current === 'file') {
        await decode();
        decoder = undefined;
      }
      current = 'other';
    }
  }
  const purpose =
    purposeBytes && purposeLength <= MAX_PURPOSE_BYTES
      ? Buffer.concat(purposeBytes).toString('utf8')
      : undefined;
  if (purpose !== 'batch') return { ok: false, message: 'purpose must be "batch".', param: 'purpose' };
  if (filename === undefined) return { ok: false, message: 'The request has no file.', param: 'file' };
  if (nameFault) return { ok: false, message: nameFault, param: 'file' };
  if (utf8Fault) return { ok: false, message: 'The file is not valid UTF-8.', param: 'file' };
  if (contentFault) return { ok: false, message: contentFault, param: 'file' };
  await sink.flush();
  return { ok: true, filename, bytes };
}
