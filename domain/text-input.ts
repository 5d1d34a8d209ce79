/**
 * The one rule for text that enters from outside: gateway JSON bodies, query strings and path segments,
 * multipart fields and files, batch input lines and CLI flags. It is checked once, where the text
 * enters, before anything is read from the ledger or any workflow starts:
 *
 * - NUL (U+0000) is refused: PostgreSQL's text and jsonb cannot hold it, and no identifier or prompt
 *   needs it.
 * - Lone surrogates (a UTF-16 high surrogate U+D800-U+DBFF without its low half, or a low one
 *   U+DC00-U+DFFF alone) are refused: they are not Unicode text, UTF-8 cannot encode them and jsonb
 *   refuses them. Groq documents nothing about them, so they are refused rather than silently replaced
 *   (a replaced prompt would no longer be what the caller sent). Paired surrogates (emoji, other astral
 *   characters), BOMs, bidirectional marks and every other character pass unchanged.
 * - Bytes that are not valid UTF-8 (overlong forms, encoded surrogates, truncated sequences) are refused
 *   instead of being replaced with U+FFFD.
 * - Lengths are bounded per field (the schemas that use `textFault` and `boundedText` name the bound),
 *   JSON values are nested at most `MAX_JSON_DEPTH` levels and object keys have at most
 *   `MAX_KEY_LENGTH` characters.
 *
 * The problems come back as `{ path, message }` with the field's path (`messages[0].content`), for a
 * 400 `invalid_request_error` in Groq's shape.
 */
import { formatIssuePath } from './issue-path';

/** Deepest nesting a JSON value may have (objects and arrays). Chat requests need a handful. */
export const MAX_JSON_DEPTH = 64;
/** Longest object key anywhere in a JSON value. */
export const MAX_KEY_LENGTH = 256;

export interface TextFault {
  /** the field, as the caller names it: `messages[0].content`; empty for the whole value */
  path: string;
  message: string;
}

// eslint-disable-next-line no-control-regex
const NUL = /\u0000/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function where(path: string): string {
  return path === '' ? 'the body' : path;
}

/** What breaks the rule in `value` ("must not contain ..."), or undefined. */
function problemOf(value: string, maxLength: number | undefined): string | undefined {
  if (maxLength !== undefined && value.length > maxLength) return `must have at most ${maxLength} characters`;
  if (NUL.test(value)) return 'must not contain the NUL character (\\u0000)';
  if (LONE_SURROGATE.test(value))
    return 'must not contain a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)';
  return undefined;
}

/** What is wrong with one string at `path`, or undefined when it may enter. */
export function textFault(value: string, path: string, maxLength?: number): TextFault | undefined {
  const problem = problemOf(value, maxLength);
  return problem === undefined ? undefined : { path, message: `${where(path)} ${problem}.` };
}

/** True when `value` may enter as it is (no bound on its length). */
export function isCleanText(value: string): boolean {
  return textFault(value, '') === undefined;
}

/**
 * The first problem of a parsed JSON value, in document order: a string or key that breaks the text
 * rule, a key longer than `MAX_KEY_LENGTH`, or nesting deeper than `MAX_JSON_DEPTH`. Iterative, so no
 * value can exhaust the stack.
 */
export function jsonFault(value: unknown, base: readonly PropertyKey[] = []): TextFault | undefined {
  const stack: Array<{ value: unknown; path: PropertyKey[]; depth: number }> = [
    { value, path: [...base], depth: 0 },
  ];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value === 'string') {
      const fault = textFault(item.value, formatIssuePath(item.path));
      if (fault) return fault;
      continue;
    }
    if (typeof item.value !== 'object' || item.value === null) continue;
    const depth = item.depth + 1;
    if (depth > MAX_JSON_DEPTH) {
      const path = formatIssuePath(item.path);
      return { path, message: `${where(path)} is nested deeper than ${MAX_JSON_DEPTH} levels.` };
    }
    const children: Array<{ value: unknown; path: PropertyKey[]; depth: number }> = [];
    if (Array.isArray(item.value)) {
      item.value.forEach((child, index) =>
        children.push({ value: child, path: [...item.path, index], depth }),
      );
    } else {
      for (const [key, child] of Object.entries(item.value)) {
        const path = [...item.path, key];
        const problem = problemOf(key, MAX_KEY_LENGTH);
        if (problem !== undefined) {
          const parent = formatIssuePath(item.path);
          return { path: parent, message: `A key of ${where(parent)} ${problem}.` };
        }
        children.push({ value: child, path, depth });
      }
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return undefined;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes as text when they are valid UTF-8 (a BOM is kept as U+FEFF); undefined otherwise. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

export type JsonInput = { ok: true; value: unknown } | { ok: false; fault: TextFault };

/**
 * A request body as JSON under the text rule: valid UTF-8, valid JSON, and no string, key or depth
 * that `jsonFault` refuses. `empty` is what an empty body stands for (admin routes take `{}`).
 */
export function parseJsonInput(bytes: Uint8Array, options: { empty?: unknown } = {}): JsonInput {
  const text = decodeUtf8(bytes);
  if (text === undefined)
    return { ok: false, fault: { path: '', message: 'The request body is not valid UTF-8.' } };
  if (text === '' && 'empty' in options) return { ok: true, value: options.empty };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, fault: { path: '', message: 'We could not parse the JSON body of your request.' } };
  }
  const fault = jsonFault(value);
  return fault ? { ok: false, fault } : { ok: true, value };
}
