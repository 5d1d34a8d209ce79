/**
 * The YAML layer: text -> plain data, syntax errors with line and column, numbers that YAML would round,
 * and the position of a path in the text so every problem can say where it is.
 */
import {
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
} from 'yaml';
import { numberToDecimalString } from '../money';
import type { ConfigProblem } from './types';
import { formatPath, type PathSegment } from './paths';

export interface YamlSource {
  doc: Document.Parsed;
  lines: LineCounter;
}

export type YamlResult =
  { ok: true; value: unknown; source: YamlSource } | { ok: false; problems: ConfigProblem[] };

/** YAML's own message without its trailing " at line L, column C:" and the code excerpt. */
function cleanMessage(message: string): string {
  const firstLine = message.split('\n')[0] ?? message;
  return firstLine.replace(/ at line \d+, column \d+:?\s*$/, '').trim();
}

function syntaxProblem(error: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }) {
  const position = error.linePos?.[0];
  const reason = cleanMessage(error.message);
  if (!position) return { path: '(yaml)', message: `YAML syntax error: ${reason}` };
  return {
    path: `line ${position.line}, column ${position.col}`,
    message: `YAML syntax error: ${reason}`,
    line: position.line,
    column: position.col,
  };
}

const DECIMAL_LITERAL = /^([+-]?)(\d+)(?:\.(\d*))?$/;

function normalizeDecimal(sign: string, whole: string, fraction: string): string {
  const w = whole.replace(/^0+(?=\d)/, '');
  const f = fraction.replace(/0+$/, '');
  const body = f === '' ? w : `${w}.${f}`;
  return sign === '-' && /[1-9]/.test(body) ? `-${body}` : body;
}

/** A number that YAML would store rounded (e.g. 12345678901234567891 or 0.1000000000000000055511). */
function roundedNumber(source: string, value: number): boolean {
  const match = DECIMAL_LITERAL.exec(source.trim());
  if (!match || !Number.isFinite(value)) return false;
  const written = normalizeDecimal(match[1] ?? '', match[2] ?? '0', match[3] ?? '');
  const stored = (value < 0 ? '-' : '') + numberToDecimalString(Math.abs(value));
  const [storedWhole = '0', storedFraction = ''] = stored.replace('-', '').split('.');
  return normalizeDecimal(value < 0 ? '-' : '', storedWhole, storedFraction) !== written;
}

function pathOfVisit(ancestors: readonly unknown[], key: number | 'key' | 'value' | null): PathSegment[] {
  const path: PathSegment[] = [];
  const chain = [...ancestors.slice(1)];
  for (let i = 0; i < chain.length; i++) {
    const node = chain[i];
    if (isPair(node)) {
      const keyNode = node.key;
      path.push(isScalar(keyNode) ? String(keyNode.value) : String(keyNode));
    } else if (isSeq(node)) {
      const child = chain[i + 1];
      const index =
        child === undefined ? (typeof key === 'number' ? key : -1) : node.items.indexOf(child as never);
      if (index >= 0) path.push(index);
    }
  }
  return path;
}

export function readYaml(text: string): YamlResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: true,
    uniqueKeys: true,
    merge: true,
    logLevel: 'error',
  });
  const problems: ConfigProblem[] = [...doc.errors, ...doc.warnings].map(syntaxProblem);
  if (problems.length > 0) return { ok: false, problems };

  const rounded: { path: PathSegment[]; source: string; node: Node }[] = [];
  visit(doc, {
    Pair(_key, pair) {
      const key: unknown = pair.key;
      if (isCollection(key)) {
        const position = key.range ? lines.linePos(key.range[0]) : undefined;
        problems.push({
          path: position ? `line ${position.line}, column ${position.col}` : '(yaml)',
          message: 'a key must be plain text, not a list or a mapping',
          ...(position ? { line: position.line, column: position.col } : {}),
        });
      }
    },
    Scalar(key, node, ancestors) {
      if (key === 'key') return;
      if (
        typeof node.value === 'number' &&
        node.source !== undefined &&
        roundedNumber(node.source, node.value)
      ) {
        rounded.push({ path: pathOfVisit(ancestors, key), source: node.source, node });
      }
    },
  });
  for (const { path, source, node } of rounded) {
    const position = node.range ? lines.linePos(node.range[0]) : undefined;
    problems.push({
      path: formatPath(path),
      message: `the number ${source} cannot be stored exactly; write it in quotes ("${source}") if it is an amount`,
      ...(position ? { line: position.line, column: position.col } : {}),
    });
  }
  if (problems.length > 0) return { ok: false, problems };

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, problems: [{ path: '(yaml)', message: `YAML error: ${cleanMessage(message)}` }] };
  }
  return { ok: true, value, source: { doc, lines } };
}

/**
 * 1-based line and column of a path in the text: the key of the last segment when it exists (so an
 * unknown field points at itself), else the deepest node that exists (a missing field points at its parent).
 */
export function locate(
  source: YamlSource,
  path: readonly PathSegment[],
): { line: number; column: number } | undefined {
  let node: unknown = source.doc.contents;
  let offset: number | undefined = rangeStart(node);
  for (const [index, segment] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => {
        const key: unknown = item.key;
        return (isScalar(key) ? String(key.value) : String(key)) === String(segment);
      });
      if (!pair) break;
      node = pair.value;
      offset = (last ? rangeStart(pair.key) : (rangeStart(node) ?? rangeStart(pair.key))) ?? offset;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (item === undefined) break;
      node = item;
      offset = rangeStart(item) ?? offset;
    } else break;
  }
  if (offset === undefined) return undefined;
  const position = source.lines.linePos(offset);
  return { line: position.line, column: position.col };
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: [number, number, number] | null }).range;
  return range ? range[0] : undefined;
}
