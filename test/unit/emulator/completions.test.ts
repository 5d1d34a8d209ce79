import { describe, expect, it } from 'vitest';
import { actualTokens, completionObject, planCompletion, usageOf } from '../../../emulator/completions';
import { resolveConfig, type ModelSpec } from '../../../emulator/config';
import { GroqError } from '../../../emulator/errors';
import { countPromptTokens } from '../../../emulator/tokens';
import { validateChatRequest } from '../../../emulator/validation';

const model: ModelSpec = { ...resolveConfig({}).models[0]!, contextWindow: 1000 };

function plan(body: Record<string, unknown>) {
  return planCompletion(validateChatRequest({ model: model.id, ...body }), model);
}

function groqError(run: () => unknown): GroqError {
  try {
    run();
  } catch (error) {
    if (error instanceof GroqError) return error;
    throw error;
  }
  throw new Error('expected a GroqError');
}

describe('completion plan', () => {
  const messages = [{ role: 'user', content: 'Tell me about rate limits' }];

  it('is deterministic for the same request', () => {
    const a = plan({ messages });
    const b = plan({ messages, stream: true, user: 'someone' });
    expect(a.words).toEqual(b.words);
    expect(a.completionTokens).toBe(b.completionTokens);
    expect(a.promptTokens).toBe(countPromptTokens(messages));
    expect(a.finishReason).toBe('stop');
  });

  it('honours the completion_tokens directive and caps at max tokens with finish_reason length', () => {
    const directed = [{ role: 'user', content: 'Go [[emulator:completion_tokens=120]]' }];
    expect(plan({ messages: directed }).completionTokens).toBe(120);
    const capped = plan({ messages: directed, max_completion_tokens: 50 });
    expect(capped.completionTokens).toBe(50);
    expect(capped.finishReason).toBe('length');
    // max_tokens is the alias; max_completion_tokens wins when both are given
    expect(plan({ messages: directed, max_tokens: 40 }).completionTokens).toBe(40);
    expect(plan({ messages: directed, max_tokens: 40, max_completion_tokens: 60 }).completionTokens).toBe(60);
    expect(plan({ messages: directed, max_tokens: 120 }).finishReason).toBe('stop');
  });

  it('reserves uncached prompt + allowance for TPM, corrected to actual', () => {
    const directed = [
      { role: 'user', content: 'Go [[emulator:completion_tokens=30]] [[emulator:cached_tokens=4]]' },
    ];
    const withMax = plan({ messages: directed, max_completion_tokens: 100 });
    expect(withMax.cachedTokens).toBe(4);
    expect(withMax.reservedTokens).toBe(withMax.promptTokens - 4 + 100);
    expect(actualTokens(withMax, 30)).toBe(withMax.promptTokens - 4 + 30);
    const noMax = plan({ messages: directed });
    expect(noMax.reservedTokens).toBe(noMax.promptTokens - 4 + 30);
    // cached tokens never exceed the prompt
    expect(
      plan({ messages: [{ role: 'user', content: 'x [[emulator:cached_tokens=99999]]' }] }).cachedTokens,
    ).toBe(countPromptTokens([{ role: 'user', content: 'x' }]));
  });

  it('rejects prompt + max completion beyond the context window', () => {
    const prompt = countPromptTokens(messages);
    expect(plan({ messages, max_completion_tokens: 1000 - prompt }).finishReason).toBe('stop');
    const error = groqError(() => plan({ messages, max_completion_tokens: 1001 - prompt }));
    expect(error.status).toBe(400);
    expect(error.code).toBe('context_length_exceeded');
    expect(error.message).toBe('Please reduce the length of the messages or completion.');
    const long = [{ role: 'user', content: 'word '.repeat(1000) }];
    expect(groqError(() => plan({ messages: long })).code).toBe('context_length_exceeded');
  });

  it('caps the completion at the context window when no max is given', () => {
    const nearlyFull = [
      { role: 'user', content: `${'abcd '.repeat(990)} [[emulator:completion_tokens=500]]` },
    ];
    const result = plan({ messages: nearlyFull });
    expect(result.promptTokens + result.completionTokens).toBe(1000);
    expect(result.finishReason).toBe('length');
  });

  it('rejects unknown directives as 400', () => {
    const error = groqError(() => plan({ messages: [{ role: 'user', content: '[[emulator:nope=1]]' }] }));
    expect(error.status).toBe(400);
  });

  it('builds the chat.completion object', () => {
    const result = plan({ messages: [{ role: 'user', content: 'Hi [[emulator:cached_tokens=2]]' }] });
    const body = completionObject(result, { completionId: 'chatcmpl-x', requestId: 'req_x' }, 1700000000);
    expect(body).toMatchObject({
      id: 'chatcmpl-x',
      object: 'chat.completion',
      created: 1700000000,
      model: model.id,
      choices: [{ index: 0, message: { role: 'assistant' }, logprobs: null, finish_reason: 'stop' }],
      x_groq: { id: 'req_x' },
    });
    expect(body.system_fingerprint).toMatch(/^fp_[0-9a-f]{10}$/);
    expect(body.usage).toEqual(usageOf(result));
    expect(body.usage.prompt_tokens_details).toEqual({ cached_tokens: 2 });
    expect(body.usage.total_tokens).toBe(result.promptTokens + result.completionTokens);
  });
});

describe('request validation', () => {
  const base = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
  const cases: [string, Record<string, unknown>, string][] = [
    ['missing model', { messages: base.messages }, 'model'],
    ['missing messages', { model: 'm' }, 'messages'],
    ['empty messages', { model: 'm', messages: [] }, 'messages'],
    ['n = 2', { ...base, n: 2 }, 'n'],
    ['logprobs', { ...base, logprobs: true }, 'logprobs'],
    ['logit_bias', { ...base, logit_bias: { '1': 2 } }, 'logit_bias'],
    ['top_logprobs', { ...base, top_logprobs: 2 }, 'top_logprobs'],
    [
      'message name',
      { ...base, messages: [{ role: 'user', content: 'hi', name: 'bob' }] },
      'messages.0.name',
    ],
    ['five stops', { ...base, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    ['temperature 2.5', { ...base, temperature: 2.5 }, 'temperature'],
    ['temperature -1', { ...base, temperature: -1 }, 'temperature'],
    ['max tokens 0', { ...base, max_completion_tokens: 0 }, 'max_completion_tokens'],
    ['bad role', { ...base, messages: [{ role: 'robot', content: 'x' }] }, 'messages.0.role'],
  ];
  for (const [name, body, param] of cases) {
    it(`rejects ${name} with 400 (param ${param})`, () => {
      const error = groqError(() => validateChatRequest(body));
      expect(error.status).toBe(400);
      expect(error.type).toBe('invalid_request_error');
      expect(error.param).toBe(param);
    });
  }

  it('accepts the edges', () => {
    expect(() =>
      validateChatRequest({ ...base, n: 1, temperature: 2, stop: ['a', 'b', 'c', 'd'], logprobs: false }),
    ).not.toThrow();
    expect(() => validateChatRequest({ ...base, temperature: 0, top_p: 1, stop: 'x' })).not.toThrow();
  });
});
