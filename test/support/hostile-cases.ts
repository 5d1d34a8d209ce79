/**
 * Generated hostile requests for every endpoint of the gateway, from a seeded PRNG (a failure names
 * its seed and case number, so it replays). Each endpoint has a valid template body; a mutation picks
 * one of its fields (any node of the JSON, the body itself included) and breaks it:
 *
 * - text: NUL, lone high/low surrogates and reversed pairs inserted into a string or replacing any
 *   value, or a key; invalid UTF-8 bytes (overlong forms, encoded surrogates, truncated sequences,
 *   0xFF) inserted into a string's bytes; 1 MB strings in bounded fields; nesting deeper than the
 *   limit. These must all be refused at the edge (`refused`).
 * - edges: numbers (-0, 1e308, 2^53+1, 1e999, -1, 0.5), wrong types (null, true, [], {}, 0, "x"),
 *   allowed nesting, and text Groq accepts (paired surrogates, BOMs, bidirectional marks, combining
 *   marks, long strings). Some of these pass and start workflows (`any`: 2xx or 4xx).
 */

export type Who = 'member' | 'viewer' | 'orgViewer' | 'teamAdmin' | 'orgAdmin' | 'stranger';

export interface HostileCase {
  label: string;
  who: Who;
  method: string;
  path: string;
  contentType?: string;
  body?: Buffer;
  /** refused: a 4xx that changes nothing and starts nothing; any: 2xx or 4xx */
  expect: 'refused' | 'any';
  /** when the status is known exactly */
  statuses?: readonly number[];
  /** for a chat completion whose reply the emulator derives from these messages (prompt unchanged) */
  sentMessages?: unknown;
}

/** mulberry32 */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Dice {
  constructor(readonly random: () => number) {}
  int(max: number): number {
    return Math.floor(this.random() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
}

// ---- the pieces mutations are made of -------------------------------------------------------------

export const BAD_TEXT = [
  '\u0000',
  '\uD800',
  '\uDBFF',
  '\uDC00',
  '\uDFFF',
  '\uDC00\uD800',
  'a\u0000',
] as const;
/** byte sequences that are not UTF-8 */
export const BAD_BYTES: readonly number[][] = [
  [0xc0, 0x80], // overlong NUL
  [0xc0, 0xaf], // overlong '/'
  [0xe0, 0x80, 0xaf], // overlong '/', 3 bytes
  [0xf0, 0x80, 0x80, 0xaf], // overlong '/', 4 bytes
  [0xed, 0xa0, 0x80], // an encoded high surrogate
  [0xed, 0xbf, 0xbf], // an encoded low surrogate
  [0xf8, 0x88, 0x80, 0x80, 0x80], // a 5-byte form
  [0xff],
  [0xfe],
  [0xe2, 0x82], // truncated
];
/** text Groq accepts that must pass unchanged */
export const EDGY_TEXT = [
  '😀',
  '👩‍👩‍👧‍👦',
  '\uD83D\uDE00',
  '\uFEFF',
  '\u202E',
  '\u200F',
  '\u200E',
  '\u2066x\u2069',
  'e\u0301',
  '\u200D',
  '中文',
  'עברית',
  '\t',
  '\n',
  '"',
  '\\',
  '\u007F',
  '\u0001',
  ' ',
  'a',
] as const;
export const NUMBER_EDGES = [
  '-0',
  '1e308',
  '-1e308',
  '9007199254740993',
  '1e999',
  '-1',
  '0.5',
  '0',
  '1e-400',
] as const;
export const WRONG_TYPES: readonly unknown[] = [null, true, false, [], {}, 0, 'x', [1, 'a'], { a: 1 }];

export function edgyText(dice: Dice, maxPieces = 12): string {
  let text = '';
  for (let i = dice.int(maxPieces) + 1; i > 0; i--) text += dice.pick(EDGY_TEXT);
  return text;
}

function insertAt(text: string, piece: string, at: number): string {
  // never split a surrogate pair of the original text
  let position = Math.min(at, text.length);
  const code = text.charCodeAt(position);
  if (position > 0 && code >= 0xdc00 && code <= 0xdfff) position -= 1;
  return text.slice(0, position) + piece + text.slice(position);
}

// ---- placing raw text and bytes in a JSON body ----------------------------------------------------

/** A JSON value being built, with spots for raw JSON text (numbers, nesting) and raw bytes. */
class Body {
  private raws: string[] = [];
  private bytes: number[][] = [];
  /** a value that serializes as `raw` exactly */
  raw(text: string): string {
    this.raws.push(text);
    return `@@RAW${this.raws.length - 1}@@`;
  }
  /** a marker to put inside a string: it becomes `bytes` */
  byteMarker(sequence: number[]): string {
    this.bytes.push(sequence);
    return `@@BYTES${this.bytes.length - 1}@@`;
  }
  serialize(value: unknown): Buffer {
    let text = JSON.stringify(value);
    text = text.replace(/"@@RAW(\d+)@@"/g, (_, n: string) => this.raws[Number(n)]!);
    const pieces: Buffer[] = [];
    let last = 0;
    for (const match of text.matchAll(/@@BYTES(\d+)@@/g)) {
      pieces.push(Buffer.from(text.slice(last, match.index), 'utf8'));
      pieces.push(Buffer.from(this.bytes[Number(match[1])]!));
      last = match.index! + match[0].length;
    }
    pieces.push(Buffer.from(text.slice(last), 'utf8'));
    return Buffer.concat(pieces);
  }
}

type JsonPath = Array<string | number>;

/** Every node of a JSON value (the root is []), objects and arrays included. */
function nodes(value: unknown, path: JsonPath = []): JsonPath[] {
  const found: JsonPath[] = [path];
  if (Array.isArray(value)) value.forEach((child, i) => found.push(...nodes(child, [...path, i])));
  else if (typeof value === 'object' && value !== null)
    for (const [key, child] of Object.entries(value)) found.push(...nodes(child, [...path, key]));
  return found;
}

function getAt(value: unknown, path: JsonPath): unknown {
  let node = value;
  for (const part of path) node = (node as Record<string | number, unknown>)[part];
  return node;
}

function setAt(value: unknown, path: JsonPath, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string | number, unknown>;
  node[path.at(-1)!] = replacement;
  return copy;
}

function deepNesting(depth: number, dice: Dice): string {
  return dice.chance(0.5)
    ? '['.repeat(depth) + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

const MEGABYTE = 1_000_000;

/** One text-rule violation somewhere in `template`: the body must be refused. */
export function breakText(
  template: unknown,
  dice: Dice,
  bounded: readonly string[],
): { body: Buffer; what: string } {
  const body = new Body();
  const all = nodes(template);
  const path = dice.pick(all);
  const node = getAt(template, path);
  const where = path.join('.') || '(body)';
  const roll = dice.int(100);
  if (typeof node === 'string' && roll < 35) {
    const piece = dice.pick(BAD_TEXT);
    return {
      body: body.serialize(setAt(template, path, insertAt(node, piece, dice.int(node.length + 1)))),
      what: `insert ${JSON.stringify(piece)} in ${where}`,
    };
  }
  if (typeof node === 'string' && roll < 55) {
    const sequence = dice.pick(BAD_BYTES);
    const marked = insertAt(node, body.byteMarker(sequence), dice.int(node.length + 1));
    return {
      body: body.serialize(setAt(template, path, marked)),
      what: `bytes ${sequence.map((b) => b.toString(16)).join(' ')} in ${where}`,
    };
  }
  if (roll < 70) {
    const bad = insertAt(edgyText(dice, 4), dice.pick(BAD_TEXT), dice.int(3));
    return { body: body.serialize(setAt(template, path, bad)), what: `replace ${where} with bad text` };
  }
  if (roll < 82 && typeof node === 'object' && node !== null) {
    const key = dice.chance(0.8) ? insertAt('key', dice.pick(BAD_TEXT), dice.int(4)) : 'k'.repeat(257);
    const value = Array.isArray(node) ? [...node, { [key]: 1 }] : { ...node, [key]: 'v' };
    return { body: body.serialize(setAt(template, path, value)), what: `bad key in ${where}` };
  }
  if (roll < 94) {
    const depth = 65 + dice.int(dice.chance(0.1) ? 5_000 : 100);
    return {
      body: body.serialize(setAt(template, path, body.raw(deepNesting(depth, dice)))),
      what: `nesting ${depth} at ${where}`,
    };
  }
  if (bounded.length > 0) {
    const field = dice.pick(bounded);
    return {
      body: body.serialize(setAt(template, field.split('.'), 'x'.repeat(MEGABYTE))),
      what: `1 MB in ${field}`,
    };
  }
  return { body: body.serialize(setAt(template, path, `\u0000${'x'.repeat(100)}`)), what: `NUL at ${where}` };
}

/** A number edge, a wrong type, allowed nesting or edgy text somewhere in `template`. */
export function bendValue(template: unknown, dice: Dice): { body: Buffer; what: string; value: unknown } {
  const body = new Body();
  const path = dice.pick(nodes(template).filter((p) => p.length > 0));
  const where = path.join('.');
  const roll = dice.int(4);
  let replacement: unknown;
  if (roll === 0) replacement = body.raw(dice.pick(NUMBER_EDGES));
  else if (roll === 1) replacement = structuredClone(dice.pick(WRONG_TYPES));
  else if (roll === 2) replacement = body.raw(deepNesting(1 + dice.int(60), dice));
  else replacement = edgyText(dice);
  const value = setAt(template, path, replacement);
  return { body: body.serialize(value), what: `bend ${where}`, value };
}

// ---- multipart ------------------------------------------------------------------------------------

export const BOUNDARY = 'fuzzboundary7d1';

export function multipart(fields: { purpose: Buffer; filename: Buffer; content: Buffer }): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n`),
    fields.purpose,
    Buffer.from(`\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="`),
    fields.filename,
    Buffer.from(`"\r\nContent-Type: application/jsonl\r\n\r\n`),
    fields.content,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

/** `%XX` for every byte of `text`'s UTF-8 (a lone surrogate as its 3 bytes, which no decoder accepts). */
export function percentEncode(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (
      code >= 0xd800 &&
      code <= 0xdfff &&
      !(code <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00)
    ) {
      out += `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`;
      continue;
    }
    const char = code >= 0xd800 && code <= 0xdbff ? text.slice(i, ++i + 1) : text[i]!;
    out += encodeURIComponent(char);
  }
  return out;
}
