/**
 * Finds forbidden strings (prompts, completions, secrets, test markers) anywhere in Temporal workflow
 * histories, in every form they could take there:
 *
 * - `text`:    a string field holds it (failure messages, search attributes, JSON from the CLI, ...);
 * - `bytes`:   the raw bytes of a field hold its UTF-8 encoding (payload data and metadata as stored);
 * - `base64`:  a base64 token inside a string or bytes decodes to text that holds it (how JSON renders
 *              bytes: `temporal workflow show --output json`, protobuf JSON, payloads inside payloads);
 * - `decoded`: a payload, once run through the codecs given as `decodeWith`, holds it (a positive
 *              control: what an authorized reader sees).
 *
 * Each history is also serialized as JSON (protobuf JSON, bytes as base64) and that text is searched
 * with the `text` and `base64` rules, so nothing a serializer could print escapes.
 *
 * Typical uses:
 *
 *   // nothing stored at all may contain the prompt
 *   const scan = await scanHistories({ client, workflowIds: [id], forbidden: [prompt] });
 *   expect(scan.findings).toEqual([]);
 *   // the scan saw what an authorized reader sees (so an empty result above means something)
 *   const control = await scanHistories({ client, workflowIds: [id], forbidden: [prompt], decodeWith: codecs });
 *   expect(control.findings.filter((f) => f.form === 'decoded')).not.toEqual([]);
 *
 *   // JSON from anywhere else (the CLI, an export)
 *   expect(findForbidden(JSON.parse(stdout), [prompt])).toEqual([]);
 */
import type { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
// a CommonJS package: Node's ESM loader only offers its default export
import proto from '@temporalio/proto';

const { temporal } = proto;

export type FindingForm = 'text' | 'bytes' | 'base64' | 'decoded';

/** One place a forbidden string occurs. */
export interface Finding {
  forbidden: string;
  form: FindingForm;
  /** where inside the scanned value, e.g. `events[4].activityTaskScheduledEventAttributes.input.payloads[0].data` */
  path: string;
  /** set by the history scans */
  workflowId?: string;
  runId?: string;
  eventId?: string;
  eventType?: string;
}

/** A payload seen in a history and how it is stored. */
export interface PayloadSighting {
  workflowId: string;
  runId?: string;
  path: string;
  /** the payload's `encoding` metadata, e.g. `binary/encrypted`, `json/plain` */
  encoding: string | undefined;
  eventType?: string;
}

export interface HistoryScan {
  /** histories scanned (one per run) */
  histories: number;
  events: number;
  /** every payload found in those histories, with its encoding */
  payloads: PayloadSighting[];
  /** payloads a `decodeWith` codec refused (e.g. wrong key): path and message */
  undecodable: Array<{ workflowId: string; path: string; error: string }>;
  findings: Finding[];
}

export interface ScanOptions {
  /** strings that must not appear (empty strings are ignored) */
  forbidden: string[];
  /** also decode every payload with these codecs (in data converter order) and search the result */
  decodeWith?: PayloadCodec[];
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: false });
/** base64 (standard or URL-safe) tokens long enough to hold at least a few bytes */
const BASE64_TOKEN = /[A-Za-z0-9+/_-]{8,}={0,2}/g;
/** how many base64 layers to peel (payloads inside payloads inside JSON) */
const MAX_DEPTH = 3;

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

function needles(forbidden: string[]): Needle[] {
  return forbidden
    .filter((text) => text !== '')
    .map((text) => {
      const bytes = Buffer.from(utf8.encode(text));
      return { text, bytes, latin1: bytes.toString('latin1') };
    });
}

/** Texts a base64 token may decode to: at each of the 4 alignments, standard and URL-safe alphabets. */
function base64Decodings(token: string): string[] {
  const texts: string[] = [];
  const standard = token.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  for (let shift = 0; shift < 4 && standard.length - shift >= 4; shift += 1) {
    // Node decodes unpadded input, keeping a partial last group (a string at the very end stays whole)
    texts.push(Buffer.from(standard.slice(shift), 'base64').toString('latin1'));
  }
  return texts;
}

type Needle = { text: string; bytes: Buffer; latin1: string };

/** Searches a text for the needles, directly and inside base64 tokens. */
function searchText(
  text: string,
  list: Needle[],
  path: string,
  form: FindingForm,
  found: Map<string, Finding>,
): void {
  for (const needle of list) {
    if (text.includes(needle.text)) add(found, { forbidden: needle.text, form, path });
  }
  searchTokens(text, list, path, found, 0);
}

/** Decodes every base64 token of a text and searches the result, peeling up to MAX_DEPTH layers. */
function searchTokens(
  text: string,
  list: Needle[],
  path: string,
  found: Map<string, Finding>,
  depth: number,
): void {
  if (depth >= MAX_DEPTH) return;
  for (const match of text.matchAll(BASE64_TOKEN)) {
    for (const decoded of base64Decodings(match[0])) {
      // decoded bytes are read as latin1 (one char per byte), so compare with the needle's bytes read alike
      for (const needle of list) {
        if (decoded.includes(needle.latin1)) add(found, { forbidden: needle.text, form: 'base64', path });
      }
      searchTokens(decoded, list, path, found, depth + 1);
    }
  }
}

function searchBytes(
  bytes: Uint8Array,
  list: Needle[],
  path: string,
  form: FindingForm,
  found: Map<string, Finding>,
): void {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const needle of list) {
    if (buffer.includes(needle.bytes)) add(found, { forbidden: needle.text, form, path });
  }
  searchTokens(buffer.toString('latin1'), list, path, found, 0);
}

function add(found: Map<string, Finding>, finding: Finding): void {
  const key = `${finding.forbidden}\u0000${finding.form}\u0000${finding.path}`;
  if (!found.has(key)) found.set(key, finding);
}

/** Visits every string and byte array in a value (protobuf messages included), with its path. */
function walk(
  value: unknown,
  path: string,
  visit: (value: string | Uint8Array, path: string) => void,
  seen = new Set<object>(),
): void {
  if (typeof value === 'string') return visit(value, path);
  if (isBytes(value)) return visit(value, path);
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, index) => walk(item, `${path}[${index}]`, visit, seen));
    return;
  }
  for (const [name, item] of Object.entries(value)) {
    walk(item, path === '' ? name : `${path}.${name}`, visit, seen);
  }
}

/**
 * Every place a forbidden string occurs in any JSON-like value (parsed CLI output, a protobuf message,
 * an export): plain in strings, as UTF-8 in byte arrays, and inside base64 at any depth up to 3.
 */
export function findForbidden(value: unknown, forbidden: string[], path = ''): Finding[] {
  const list = needles(forbidden);
  const found = new Map<string, Finding>();
  walk(value, path, (item, at) =>
    typeof item === 'string'
      ? searchText(item, list, at, 'text', found)
      : searchBytes(item, list, at, 'bytes', found),
  );
  return [...found.values()];
}

/** Payload-shaped objects (metadata with an `encoding`) inside a value, with their paths. */
function payloadsIn(
  value: unknown,
  path: string,
  out: Array<{ payload: Payload; path: string }> = [],
  seen = new Set<object>(),
) {
  if (value === null || typeof value !== 'object' || isBytes(value) || seen.has(value)) return out;
  seen.add(value);
  const metadata = (value as Payload).metadata;
  if (metadata && typeof metadata === 'object' && isBytes((metadata as Record<string, unknown>).encoding)) {
    out.push({ payload: value as Payload, path });
    return out;
  }
  if (Array.isArray(value)) value.forEach((item, index) => payloadsIn(item, `${path}[${index}]`, out, seen));
  else
    for (const [name, item] of Object.entries(value))
      payloadsIn(item, path === '' ? name : `${path}.${name}`, out, seen);
  return out;
}

function eventTypeName(type: unknown): string | undefined {
  if (typeof type === 'string') return type;
  if (typeof type !== 'number') return undefined;
  return temporal.api.enums.v1.EventType[type];
}

async function decodePayload(payload: Payload, codecs: PayloadCodec[]): Promise<Payload> {
  let current = [payload];
  for (const codec of [...codecs].reverse()) current = await codec.decode(current);
  return current[0]!;
}

/**
 * Scans one history (as `fetchHistory()` returns it, or any `IHistory`) for the forbidden strings: every
 * event field, raw and base64-decoded, the history's JSON serialization, and, with `decodeWith`, every
 * payload decoded.
 */
export async function scanHistory(
  history: proto.temporal.api.history.v1.IHistory,
  options: ScanOptions & { workflowId: string; runId?: string },
): Promise<HistoryScan> {
  const { workflowId, runId } = options;
  const list = needles(options.forbidden);
  const events = history.events ?? [];
  const scan: HistoryScan = {
    histories: 1,
    events: events.length,
    payloads: [],
    undecodable: [],
    findings: [],
  };

  for (const [index, event] of events.entries()) {
    const base = `events[${index}]`;
    const context = {
      workflowId,
      ...(runId ? { runId } : {}),
      ...(event.eventId != null ? { eventId: String(event.eventId) } : {}),
      ...(eventTypeName(event.eventType) ? { eventType: eventTypeName(event.eventType)! } : {}),
    };
    for (const finding of findForbidden(event, options.forbidden, base))
      scan.findings.push({ ...finding, ...context });

    for (const { payload, path } of payloadsIn(event, base)) {
      const encoding = payload.metadata?.encoding ? fromUtf8.decode(payload.metadata.encoding) : undefined;
      scan.payloads.push({
        workflowId,
        ...(runId ? { runId } : {}),
        path,
        encoding,
        ...(context.eventType ? { eventType: context.eventType } : {}),
      });
      if (!options.decodeWith?.length) continue;
      let decoded: Payload;
      try {
        decoded = await decodePayload(payload, options.decodeWith);
      } catch (error) {
        scan.undecodable.push({ workflowId, path, error: (error as Error).message });
        continue;
      }
      const found = new Map<string, Finding>();
      walk(decoded, `${path}<decoded>`, (item, at) =>
        typeof item === 'string'
          ? searchText(item, list, at, 'decoded', found)
          : searchBytes(item, list, at, 'decoded', found),
      );
      for (const finding of found.values()) scan.findings.push({ ...finding, form: 'decoded', ...context });
    }
  }

  // the whole history as a serializer prints it (protobuf JSON: bytes as base64, enums by name)
  const json = JSON.stringify(
    'toJSON' in history && typeof history.toJSON === 'function'
      ? history
      : temporal.api.history.v1.History.fromObject(history),
  );
  const found = new Map<string, Finding>();
  searchText(json, list, '<history JSON>', 'text', found);
  for (const finding of found.values())
    scan.findings.push({ ...finding, workflowId, ...(runId ? { runId } : {}) });
  return scan;
}

export interface ScanHistoriesOptions extends ScanOptions {
  client: Client;
  /** workflow ids (latest run) or `{ workflowId, runId }` pairs */
  workflowIds?: Array<string | { workflowId: string; runId?: string }>;
  /** a visibility query, e.g. `TaskQueue = 'q'`: every run it lists is scanned */
  query?: string;
}

/**
 * Fetches the raw histories (`fetchHistory()` never runs the client's codec, so any client shows what the
 * server stores) of the given workflows and/or every run a visibility query lists, and scans them.
 */
export async function scanHistories(options: ScanHistoriesOptions): Promise<HistoryScan> {
  const targets: Array<{ workflowId: string; runId?: string }> = (options.workflowIds ?? []).map((target) =>
    typeof target === 'string' ? { workflowId: target } : target,
  );
  if (options.query !== undefined) {
    for await (const execution of options.client.workflow.list({ query: options.query })) {
      targets.push({ workflowId: execution.workflowId, runId: execution.runId });
    }
  }
  if (targets.length === 0)
    throw new Error('scanHistories: give workflowIds or a query that lists something');
  const total: HistoryScan = { histories: 0, events: 0, payloads: [], undecodable: [], findings: [] };
  for (const target of targets) {
    const history = await options.client.workflow.getHandle(target.workflowId, target.runId).fetchHistory();
    const scan = await scanHistory(history, { ...options, ...target });
    total.histories += scan.histories;
    total.events += scan.events;
    total.payloads.push(...scan.payloads);
    total.undecodable.push(...scan.undecodable);
    total.findings.push(...scan.findings);
  }
  return total;
}

/** A readable list of findings for assertion messages. */
export function describeFindings(findings: Finding[]): string {
  return findings
    .map((f) =>
      `${f.form} ${JSON.stringify(f.forbidden)} at ${f.workflowId ?? ''} ${f.eventType ?? ''} ${f.path}`.trim(),
    )
    .join('\n');
}
