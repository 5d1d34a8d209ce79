/**
 * Files of `groq-governor batch`, streamed: an upload is a file-backed Blob (the form is read from disk
 * as it is sent) and a download goes to its file or to the terminal a piece at a time, so the CLI never
 * holds a whole batch file.
 */
import { createWriteStream, openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { textLines } from '../../../domain/line-splitter';

/** The file at `path` as a File whose bytes stay on disk until they are sent. */
export async function fileOnDisk(path: string): Promise<File> {
  return new File([await openAsBlob(path)], basename(path));
}

function bodyOf(response: Response): Readable {
  if (!response.body) return Readable.from([]);
  return Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
}

/** Writes a downloaded file to `path` as it arrives. */
export async function saveBody(response: Response, path: string): Promise<void> {
  await pipeline(bodyOf(response), createWriteStream(path));
}

/** Hands a downloaded JSONL file to `emit` a line at a time as it arrives; the line count. */
export async function emitLines(response: Response, emit: (line: string) => void): Promise<number> {
  let count = 0;
  for await (const line of textLines(bodyOf(response))) {
    emit(line);
    count++;
  }
  return count;
}
