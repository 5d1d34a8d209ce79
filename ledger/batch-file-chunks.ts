/**
 * Batch input files in chunks (`batch_file_chunks`, migration 0010): an upload is written a chunk at a
 * time as it streams in and read back a page of chunks at a time, so no process holds a whole file. The
 * chunks of a file become visible with its `batch_files` row, which is written after the last chunk
 * (`BatchStore.commitInputFile`); an upload that fails deletes what it wrote.
 */
import { LineSplitter } from '../domain/line-splitter';
import { asNumber, asString, type SqlQueryable } from './sql';

/** Characters a chunk holds before it is written (about 256 KiB of ASCII). */
export const CHUNK_CHARS = 256 * 1024;

/** Collects text and writes it as chunks of at least `chunkChars` characters (the last may be shorter). */
export class FileChunkWriter {
  #pending: string[] = [];
  #pendingLength = 0;
  #next = 0;

  constructor(
    private readonly db: SqlQueryable,
    readonly fileId: string,
    private readonly chunkChars = CHUNK_CHARS,
  ) {}

  /** chunks written so far */
  get chunks(): number {
    return this.#next;
  }

  /** characters held in memory, not yet written (less than chunkChars plus one appended piece) */
  get pendingLength(): number {
    return this.#pendingLength;
  }

  /** Adds text (whole characters: never half of a surrogate pair); writes a chunk once enough is held. */
  async append(text: string): Promise<void> {
    if (text.length === 0) return;
    this.#pending.push(text);
    this.#pendingLength += text.length;
    if (this.#pendingLength >= this.chunkChars) await this.flush();
  }

  /** Writes what is held as one chunk (nothing when nothing is held). */
  async flush(): Promise<void> {
    if (this.#pendingLength === 0) return;
    const content = this.#pending.join('');
    this.#pending = [];
    this.#pendingLength = 0;
    await this.db.query(`INSERT INTO batch_file_chunks (file_id, n, content) VALUES ($1, $2, $3)`, [
      this.fileId,
      this.#next,
      content,
    ]);
    this.#next++;
  }

  /** Deletes every chunk written (a refused or broken upload stores nothing). */
  async discard(): Promise<void> {
    this.#pending = [];
    this.#pendingLength = 0;
    await deleteFileChunks(this.db, this.fileId);
  }
}

export async function deleteFileChunks(db: SqlQueryable, fileId: string): Promise<void> {
  await db.query(`DELETE FROM batch_file_chunks WHERE file_id = $1`, [fileId]);
}

/** A file's text, chunk after chunk, reading `pageSize` chunks per statement. */
export async function* fileChunks(db: SqlQueryable, fileId: string, pageSize = 4): AsyncGenerator<string> {
  let after = -1;
  for (;;) {
    const { rows } = await db.query(
      `SELECT n, content FROM batch_file_chunks WHERE file_id = $1 AND n > $2 ORDER BY n LIMIT $3`,
      [fileId, after, pageSize],
    );
    for (const row of rows) {
      after = asNumber(row.n, 'n');
      yield asString(row.content, 'content');
    }
    if (rows.length < pageSize) return;
  }
}

/** A file's lines with their 1-based numbers, as `content.split('\n')` numbers them. */
export async function* fileLines(
  db: SqlQueryable,
  fileId: string,
  pageSize = 4,
): AsyncGenerator<{ line: number; text: string }> {
  const splitter = new LineSplitter();
  let line = 0;
  for await (const chunk of fileChunks(db, fileId, pageSize)) {
    for (const text of splitter.push(chunk)) yield { line: ++line, text };
  }
  yield { line: ++line, text: splitter.end() };
}
