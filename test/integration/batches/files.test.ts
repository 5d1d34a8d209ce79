// Batch files in pages: a 200,000-line file goes up and comes back through the unchanged groq-sdk, is
// written to the ledger in chunks while it arrives (so the gateway never holds it) and read back a
// page at a time; a refused upload stores nothing. Real dev server, PGlite, emulator and gateway.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileOnDisk } from '../../../client/cli/commands/batch-files';
import { CHUNK_CHARS } from '../../../ledger/batch-file-chunks';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';
import { batchLine } from './support';

const LINES = 200_000;

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path)) hash.update(piece as Buffer);
  return hash.digest('hex');
}

describe('batch files in pages', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let groq: Groq;
  let key: string;
  let dir: string;
  let path: string;

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true });
    key = (await stack.issue('alpha')).key;
    groq = new Groq({ baseURL: stack.gateway!.url, apiKey: key, maxRetries: 0 });
    dir = mkdtempSync(join(tmpdir(), 'gg-batch-files-'));
    path = join(dir, 'big.jsonl');
    const out = createWriteStream(path);
    for (let n = 0; n < LINES; n++) {
      // multi-byte characters too, so chunks are cut between characters, not bytes
      const text = `${batchLine(`big-${n}`, `line ${n} é😀`)}${n + 1 < LINES ? '\n' : ''}`;
      if (!out.write(text)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  const chunkCount = async () =>
    Number((await stack.ledger.sql.query(`SELECT count(*) AS n FROM batch_file_chunks`)).rows[0]!.n);

  it('a 200,000-line file goes up and comes back whole, stored in bounded chunks', async () => {
    const bytes = statSync(path).size;
    const file = await groq.files.create({ file: await fileOnDisk(path), purpose: 'batch' });
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', filename: 'big.jsonl', bytes });

    // the gateway wrote the file as it arrived: no chunk is much more than CHUNK_CHARS characters
    // (it held at most one chunk and one network piece of the file at a time)
    const { rows } = await stack.ledger.sql.query(
      `SELECT count(*) AS chunks, max(length(content)) AS longest, sum(octet_length(content)) AS bytes
         FROM batch_file_chunks WHERE file_id = $1`,
      [file.id],
    );
    expect(Number(rows[0]!.bytes)).toBe(bytes);
    expect(Number(rows[0]!.longest)).toBeLessThan(2 * CHUNK_CHARS);
    expect(Number(rows[0]!.chunks)).toBeGreaterThan(bytes / (2 * CHUNK_CHARS * 4));

    // and sends it back a page of chunks at a time, byte for byte
    const content = await groq.files.content(file.id!);
    const hash = createHash('sha256');
    let received = 0;
    for await (const piece of content.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(piece);
      received += piece.length;
    }
    expect(received).toBe(bytes);
    expect(hash.digest('hex')).toBe(await sha256OfFile(path));
  });

  /** POSTs a multipart upload whose body is written in pieces; `between` runs after the first piece. */
  async function pausedUpload(parts: Buffer[], between: () => Promise<void>) {
    const boundary = 'paused-upload-boundary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="paused.jsonl"\r\n\r\n`,
    );
    const tail = Buffer.from(
      `\r\n--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${boundary}--\r\n`,
    );
    const url = new URL('/openai/v1/files', stack.gateway!.url);
    const req = httpRequest(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
    });
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (response) => {
        let body = '';
        response.on('data', (piece: Buffer) => (body += piece.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
    req.write(head);
    req.write(parts[0]!);
    await between();
    for (const part of parts.slice(1)) req.write(part);
    req.end(tail);
    return answer;
  }

  it('writes an upload to the ledger before its body has ended', async () => {
    const line = batchLine('paused', 'x'.repeat(200));
    const half = Buffer.from(`${line}\n`.repeat(Math.ceil((3 * CHUNK_CHARS) / line.length)));
    const before = await chunkCount();
    const answer = await pausedUpload([half, half], async () => {
      // the first half is in the ledger while the second has not been sent
      const deadline = Date.now() + 60_000;
      while ((await chunkCount()) < before + 2) {
        if (Date.now() > deadline) throw new Error('no chunk was written while the upload was open');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ object: 'file', bytes: 2 * half.length });
  });

  it('a refused upload stores nothing, even when its file was already written', async () => {
    const line = Buffer.from(`${batchLine('refused', 'y'.repeat(200))}\n`.repeat(5000));
    const before = await chunkCount();
    const files = async () =>
      Number((await stack.ledger.sql.query(`SELECT count(*) AS n FROM batch_files`)).rows[0]!.n);
    const filesBefore = await files();
    // a NUL after more than a chunk of good text
    const nul = await pausedUpload([line, Buffer.from('{"a":"\u0000"}')], async () => undefined);
    expect(nul.status).toBe(400);
    expect(JSON.parse(nul.body).error.message).toContain('NUL');
    // invalid UTF-8 at the very end (a truncated sequence)
    const truncated = await pausedUpload([line, Buffer.from([0xe2, 0x82])], async () => undefined);
    expect(truncated.status).toBe(400);
    expect(JSON.parse(truncated.body).error.message).toBe('The file is not valid UTF-8.');
    expect(await chunkCount()).toBe(before);
    expect(await files()).toBe(filesBefore);
  });
});
