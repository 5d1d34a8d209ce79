/**
 * Validation of a batch input file before any spend: every JSONL line is checked (JSON, a unique
 * `custom_id`, `method` POST, `url` /v1/chat/completions, a chat request body whose model the team may
 * use and whose token allowance is within the team cap). Problems are reported per line in the shape of
 * Groq's batch `errors.data` entries.
 */
import { FIELD_LIMITS } from './admin-requests';
import { parseChatRequest, type ChatRequest } from './chat-request';
import { worstCaseCost, type PriceBook } from './pricing';
import { promptTokenBound } from './prompt-tokens';
import { jsonFault } from './text-input';

export const BATCH_ENDPOINT = '/v1/chat/completions';

export interface BatchLineError {
  code: string;
  /** 1-based line number in the input file */
  line: number;
  message: string;
  param: string | null;
}

export interface BatchLine {
  line: number;
  customId: string;
  body: ChatRequest;
  model: string;
  /** the call's allowance: the line's max_completion_tokens/max_tokens or the team cap */
  maxCompletionTokens: number;
  promptTokenBound: number;
}

export interface BatchRules {
  allowedModels: readonly string[];
  maxTokensPerRequest: number;
}

export interface ValidatedBatch {
  lines: BatchLine[];
  errors: BatchLineError[];
}

function problem(line: number, code: string, message: string, param: string | null = null): BatchLineError {
  return { code, line, message, param };
}

/**
 * One line checked on its own (everything but the uniqueness of its custom_id): `blank` (ignored, as
 * Groq does), a good `line`, or an `error`. An error found after the custom_id was read carries it
 * (`customId`): the line still claims its custom_id, and a duplicate is reported before such an error.
 */
export type CheckedLine =
  | { kind: 'blank' }
  | { kind: 'line'; line: BatchLine }
  | { kind: 'error'; error: BatchLineError; customId?: string };

export function checkBatchLine(raw: string, line: number, rules: BatchRules): CheckedLine {
  const text = raw.trim();
  if (text === '') return { kind: 'blank' };
  const fail = (error: BatchLineError, customId?: string): CheckedLine =>
    customId === undefined ? { kind: 'error', error } : { kind: 'error', error, customId };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(problem(line, 'invalid_json', 'Line is not valid JSON.'));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(problem(line, 'invalid_request', 'Line must be a JSON object.'));
  }
  // the text rule (no NUL, no lone surrogate, bounded nesting): the line's body is stored as jsonb
  const fault = jsonFault(value);
  if (fault) return fail(problem(line, 'invalid_request', fault.message, fault.path || null));
  const entry = value as Record<string, unknown>;
  const customId = entry.custom_id;
  if (typeof customId !== 'string' || customId.length === 0 || customId.length > FIELD_LIMITS.customId) {
    return fail(
      problem(
        line,
        'invalid_custom_id',
        `custom_id must be a non-empty string of at most ${FIELD_LIMITS.customId} characters.`,
        'custom_id',
      ),
    );
  }
  if (entry.method !== 'POST') {
    return fail(problem(line, 'invalid_method', 'method must be "POST".', 'method'), customId);
  }
  if (entry.url !== BATCH_ENDPOINT) {
    return fail(problem(line, 'invalid_url', `url must be "${BATCH_ENDPOINT}".`, 'url'), customId);
  }
  const parsed = parseChatRequest(entry.body);
  if (!parsed.ok) {
    const param = parsed.param ? `body.${parsed.param}` : 'body';
    return fail(problem(line, 'invalid_request', parsed.message, param), customId);
  }
  if (parsed.request.stream) {
    return fail(problem(line, 'invalid_request', 'Batch lines cannot stream.', 'body.stream'), customId);
  }
  const model = parsed.request.model;
  if (!rules.allowedModels.includes(model)) {
    return fail(
      problem(
        line,
        'model_not_allowed',
        `The model \`${model}\` is not allowed for this team.`,
        'body.model',
      ),
      customId,
    );
  }
  const maxCompletionTokens = parsed.maxCompletionTokens ?? rules.maxTokensPerRequest;
  if (maxCompletionTokens > rules.maxTokensPerRequest) {
    return fail(
      problem(
        line,
        'max_tokens_exceeded',
        `max_completion_tokens ${maxCompletionTokens} exceeds the team's limit of ${rules.maxTokensPerRequest}.`,
        'body.max_completion_tokens',
      ),
      customId,
    );
  }
  return {
    kind: 'line',
    line: {
      line,
      customId,
      body: parsed.request,
      model,
      maxCompletionTokens,
      promptTokenBound: promptTokenBound(parsed.request.messages, parsed.request.tools),
    },
  };
}

/** The problem of a line whose custom_id an earlier line already has. */
export function duplicateCustomId(line: number, customId: string): BatchLineError {
  return problem(
    line,
    'duplicate_custom_id',
    `custom_id ${JSON.stringify(customId)} is used twice.`,
    'custom_id',
  );
}

/**
 * Checks every line of a JSONL batch file held in memory (small files, tests); the validating step
 * reads a stored file a page at a time with `checkBatchLine` instead.
 */
export function validateBatchLines(content: string, rules: BatchRules): ValidatedBatch {
  const lines: BatchLine[] = [];
  const errors: BatchLineError[] = [];
  const seen = new Set<string>();
  content.split('\n').forEach((raw, index) => {
    const checked = checkBatchLine(raw, index + 1, rules);
    if (checked.kind === 'blank') return;
    const customId = checked.kind === 'line' ? checked.line.customId : checked.customId;
    if (customId !== undefined) {
      if (seen.has(customId)) {
        errors.push(duplicateCustomId(index + 1, customId));
        return;
      }
      seen.add(customId);
    }
    if (checked.kind === 'line') lines.push(checked.line);
    else errors.push(checked.error);
  });
  return { lines, errors };
}

/** The most the whole batch can cost: every line at its worst case. */
export function batchWorstCase(
  book: PriceBook,
  lines: readonly Pick<BatchLine, 'model' | 'promptTokenBound' | 'maxCompletionTokens'>[],
  options: { batch: boolean },
): bigint {
  let total = 0n;
  for (const line of lines) {
    total += worstCaseCost(book, line.model, line.promptTokenBound, line.maxCompletionTokens, options);
  }
  return total;
}

/** Batch execution modes: `auto` picks `groq-batch` for a completion window of 24h or more. */
export type BatchMode = 'realtime' | 'groq-batch';
export const DAY_MS = 24 * 60 * 60 * 1000;

export function chooseMode(requested: string | undefined, windowMs: number): BatchMode | null {
  if (requested === undefined || requested === 'auto') return windowMs >= DAY_MS ? 'groq-batch' : 'realtime';
  if (requested === 'realtime' || requested === 'groq-batch') return requested;
  return null;
}

/** A completion window such as "24h", "90m", "7d" or "30s", in ms; null when it is not one. */
export function parseCompletionWindow(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const match = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (!match) return null;
  const amount = Number(match[1]);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS }[match[2] as 's' | 'm' | 'h' | 'd'];
  const ms = amount * unit;
  return ms > 0 && ms <= 7 * DAY_MS ? ms : null;
}
