import { describe, expect, it } from 'vitest';
import {
  batchWorstCase,
  chooseMode,
  DAY_MS,
  parseCompletionWindow,
  validateBatchLines,
} from '../../domain/batch-lines';
import { createPriceBook, worstCaseCost } from '../../domain/pricing';

const RULES = { allowedModels: ['m'], maxTokensPerRequest: 100 };
const line = (customId: string, body: Record<string, unknown> = {}) =>
  JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'm', messages: [{ role: 'user', content: 'hi' }], ...body },
  });

describe('batch line validation', () => {
  it('accepts good lines, skips blank ones and numbers lines from 1', () => {
    const { lines, errors } = validateBatchLines(`${line('a')}\n\n${line('b', { max_tokens: 7 })}\n`, RULES);
    expect(errors).toEqual([]);
    expect(lines.map((l) => [l.line, l.customId, l.maxCompletionTokens])).toEqual([
      [1, 'a', 100],
      [3, 'b', 7],
    ]);
  });

  it('reports every bad line with its number, code and param', () => {
    const content = [
      line('a'),
      'nope',
      '[1]',
      JSON.stringify({ method: 'POST' }),
      line('a'),
      JSON.stringify({ custom_id: 'g', method: 'GET', url: '/v1/chat/completions', body: {} }),
      line('m', { model: 'other' }),
      line('t', { max_completion_tokens: 101 }),
      line('s', { stream: true }),
      line('x', { messages: [] }),
    ].join('\n');
    const { lines, errors } = validateBatchLines(content, RULES);
    expect(lines.map((l) => l.customId)).toEqual(['a']);
    expect(errors.map((e) => [e.line, e.code, e.param])).toEqual([
      [2, 'invalid_json', null],
      [3, 'invalid_request', null],
      [4, 'invalid_custom_id', 'custom_id'],
      [5, 'duplicate_custom_id', 'custom_id'],
      [6, 'invalid_method', 'method'],
      [7, 'model_not_allowed', 'body.model'],
      [8, 'max_tokens_exceeded', 'body.max_completion_tokens'],
      [9, 'invalid_request', 'body.stream'],
      [10, 'invalid_request', 'body.messages'],
    ]);
  });

  it('sums the worst case of every line exactly, at the batch price when asked', () => {
    const book = createPriceBook({ m: { input: '0.59', output: '0.79' } });
    const { lines } = validateBatchLines(`${line('a')}\n${line('b', { max_tokens: 3 })}`, RULES);
    const each = lines.map((l) => worstCaseCost(book, 'm', l.promptTokenBound, l.maxCompletionTokens));
    expect(batchWorstCase(book, lines, { batch: false })).toBe(each[0]! + each[1]!);
    expect(batchWorstCase(book, lines, { batch: true })).toBeLessThan(each[0]! + each[1]!);
  });
});

describe('completion windows and modes', () => {
  it('parses windows up to 7 days', () => {
    expect(parseCompletionWindow('24h')).toBe(DAY_MS);
    expect(parseCompletionWindow('90m')).toBe(90 * 60_000);
    expect(parseCompletionWindow('7d')).toBe(7 * DAY_MS);
    expect(parseCompletionWindow('8d')).toBeNull();
    expect(parseCompletionWindow('0s')).toBeNull();
    expect(parseCompletionWindow('soon')).toBeNull();
    expect(parseCompletionWindow(24)).toBeNull();
  });

  it('auto picks groq-batch from 24h on', () => {
    expect(chooseMode(undefined, DAY_MS)).toBe('groq-batch');
    expect(chooseMode('auto', DAY_MS - 1)).toBe('realtime');
    expect(chooseMode('realtime', 7 * DAY_MS)).toBe('realtime');
    expect(chooseMode('groq-batch', 60_000)).toBe('groq-batch');
    expect(chooseMode('fast', DAY_MS)).toBeNull();
  });
});
