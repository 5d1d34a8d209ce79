/**
 * The paging code under batch files: lines out of pieces (LineSplitter), multipart read as it arrives
 * (parseMultipartStream, against the whole-body parser on every way of cutting the body), and the
 * statement counter of the benchmark's PostgreSQL relay. Each asserts the bound on what is held.
 */
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../domain/line-splitter';
import { parseMultipart, MultipartError } from '../../../emulator/multipart';
import { parseMultipartStream, type MultipartEvent } from '../../../emulator/multipart-stream';
import { FrontendMessageCounter } from '../../../bench/pg-wire-counter';

function cut(text: string, sizes: number[]): string[] {
  const pieces: string[] = [];
  let at = 0;
  for (let n = 0; at < text.length; n++) {
    const size = sizes[n % sizes.length]!;
    pieces.push(text.slice(at, at + size));
    at += size;
  }
  return pieces;
}

describe('LineSplitter', () => {
  const texts = ['', 'a', '\n', 'a\nb', 'a\nb\n', '\n\nx\n\n', 'one\ntwo\r\nthree\n\nfour', 'é😀\nß'];
  for (const text of texts) {
    it(`gives the lines of split('\\n') for ${JSON.stringify(text)}, however it is cut`, () => {
      for (const sizes of [[1], [2], [3, 1], [100]]) {
        const splitter = new LineSplitter();
        const lines = cut(text, sizes).flatMap((piece) => splitter.push(piece));
        lines.push(splitter.end());
        expect(lines).toEqual(text.split('\n'));
      }
    });
  }

  it('holds only the unfinished line between pieces', () => {
    const splitter = new LineSplitter();
    let most = 0;
    for (let n = 0; n < 1000; n++) {
      splitter.push(`line ${n} `.repeat(3));
      splitter.push('\n');
      most = Math.max(most, splitter.pendingLength);
    }
    expect(most).toBeLessThan(40);
    expect(splitter.end()).toBe('');
  });
});

async function* pieces(body: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
}

async function streamed(body: Buffer, boundary: string, size: number) {
  const parts: { name: string; filename?: string; contentType?: string; data: Buffer }[] = [];
  let largestEvent = 0;
  for await (const event of parseMultipartStream(
    pieces(body, size),
    boundary,
  ) as AsyncGenerator<MultipartEvent>) {
    if (event.type === 'part') {
      const { type: _type, ...described } = event;
      parts.push({ ...described, data: Buffer.alloc(0) });
    } else if (event.type === 'data') {
      largestEvent = Math.max(largestEvent, event.data.length);
      const part = parts.at(-1)!;
      part.data = Buffer.concat([part.data, event.data]);
    }
  }
  return { parts, largestEvent };
}

function form(boundary: string, parts: { name: string; filename?: string; data: string }[]): Buffer {
  const chunks = parts.map(
    (part) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"` +
      `${part.filename !== undefined ? `; filename="${part.filename}"` : ''}\r\n` +
      `${part.filename !== undefined ? 'Content-Type: application/octet-stream\r\n' : ''}\r\n${part.data}\r\n`,
  );
  return Buffer.from(`preamble\r\n${chunks.join('')}--${boundary}--\r\nepilogue`);
}

describe('parseMultipartStream', () => {
  const boundary = '----formdata-abc123';
  const body = form(boundary, [
    { name: 'purpose', data: 'batch' },
    {
      name: 'file',
      filename: 'b.jsonl',
      data: `{"a":1}\r\n--${boundary.slice(0, 8)}\n${'x'.repeat(5000)}\n😀`,
    },
    { name: 'empty', data: '' },
  ]);

  it('finds the parts parseMultipart finds, however the body is cut', async () => {
    const whole = parseMultipart(body, boundary);
    for (const size of [1, 2, 7, 64, 1000, body.length]) {
      const { parts } = await streamed(body, boundary, size);
      expect(parts).toEqual(whole);
    }
  });

  it('hands data on as it arrives: no event larger than a piece', async () => {
    const { largestEvent } = await streamed(body, boundary, 256);
    expect(largestEvent).toBeLessThanOrEqual(256);
  });

  it('refuses what parseMultipart refuses, with its messages', async () => {
    const broken = [
      Buffer.from('no boundary here'),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\nnever ends`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${boundary}--`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="a"`),
    ];
    for (const bytes of broken) {
      let wholeError: unknown;
      try {
        parseMultipart(bytes, boundary);
      } catch (error) {
        wholeError = error;
      }
      await expect(streamed(bytes, boundary, 3)).rejects.toThrow(MultipartError);
      await expect(streamed(bytes, boundary, 3)).rejects.toThrow((wholeError as Error).message);
    }
  });
});

describe('parseMultipartStream on a malformed body', () => {
  it('reads the body to its end before it throws, so the gateway can still answer', async () => {
    const boundary = 'b0undary';
    const body = Buffer.from(`--${boundary}\r\nX-Long: ${'h'.repeat(40_000)}\r\n\r\n${'d'.repeat(100_000)}`);
    let read = 0;
    async function* source() {
      for (let at = 0; at < body.length; at += 1000) {
        read += Math.min(1000, body.length - at);
        yield body.subarray(at, at + 1000);
      }
    }
    await expect(drainAll(source(), boundary)).rejects.toThrow('multipart part has no header end');
    expect(read).toBe(body.length);
  });
});

async function drainAll(source: AsyncIterable<Buffer>, boundary: string) {
  for await (const _event of parseMultipartStream(source, boundary)) {
    // nothing: only the error matters
  }
}

describe('FrontendMessageCounter (bench:batch statement count)', () => {
  const message = (type: string, body = Buffer.alloc(3)) => {
    const header = Buffer.alloc(5);
    header.write(type, 0);
    header.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([header, body]);
  };
  const startup = () => {
    const body = Buffer.from('user\0postgres\0\0');
    const head = Buffer.alloc(8);
    head.writeInt32BE(8 + body.length, 0);
    head.writeInt32BE(196608, 4);
    return Buffer.concat([head, body]);
  };
  const ssl = () => {
    const head = Buffer.alloc(8);
    head.writeInt32BE(8, 0);
    head.writeInt32BE(80877103, 4);
    return head;
  };

  it('counts simple queries and executes, however the stream is cut', () => {
    const stream = Buffer.concat([
      ssl(),
      startup(),
      message('p', Buffer.from('secret\0')),
      message('Q', Buffer.from('BEGIN\0')),
      message('P'),
      message('B'),
      message('D'),
      message('E'),
      message('S'),
      message('E'),
      message('Q', Buffer.from('COMMIT\0')),
      message('X', Buffer.alloc(0)),
    ]);
    for (const size of [1, 3, 5, stream.length]) {
      const counter = new FrontendMessageCounter();
      for (let at = 0; at < stream.length; at += size) counter.push(stream.subarray(at, at + size));
      expect({ statements: counter.statements, simple: counter.simple }).toEqual({
        statements: 4,
        simple: 2,
      });
    }
  });
});
