/**
 * Lines out of text that arrives in pieces (chunks of a stored file, a response body): `push` returns
 * the lines a piece completes, `end` the last line (what follows the last `\n`, possibly empty). The
 * lines are those of `whole.split('\n')`, whatever the pieces; only the unfinished line is kept between
 * pieces, so memory is bounded by the piece and the longest line, never by the whole text.
 */
export class LineSplitter {
  #open: string[] = [];
  #openLength = 0;

  /** characters of the line not yet finished */
  get pendingLength(): number {
    return this.#openLength;
  }

  push(piece: string): string[] {
    const lines: string[] = [];
    let newline = piece.indexOf('\n');
    if (newline < 0) {
      if (piece.length > 0) {
        this.#open.push(piece);
        this.#openLength += piece.length;
      }
      return lines;
    }
    lines.push(
      this.#open.length > 0 ? this.#open.join('') + piece.slice(0, newline) : piece.slice(0, newline),
    );
    this.#open = [];
    this.#openLength = 0;
    let start = newline + 1;
    while ((newline = piece.indexOf('\n', start)) >= 0) {
      lines.push(piece.slice(start, newline));
      start = newline + 1;
    }
    if (start < piece.length) {
      this.#open.push(piece.slice(start));
      this.#openLength = piece.length - start;
    }
    return lines;
  }

  end(): string {
    const last = this.#open.join('');
    this.#open = [];
    this.#openLength = 0;
    return last;
  }
}

/**
 * The lines of UTF-8 text arriving in byte pieces (a download's body), as `split('\n')` gives them,
 * except that an empty last line (after a final `\n`) is left out.
 */
export async function* textLines(pieces: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  const splitter = new LineSplitter();
  for await (const piece of pieces) yield* splitter.push(decoder.decode(piece, { stream: true }));
  yield* splitter.push(decoder.decode());
  const last = splitter.end();
  if (last !== '') yield last;
}
