import type Groq from 'groq-sdk';
import { AuthenticationError, BadRequestError, NotFoundError } from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../../emulator/index';
import { countPromptTokens } from '../../../emulator/tokens';
import { groqClient, MODEL, startTestEmulator, userMessage } from './support';

let emulator: RunningEmulator;
let secrets: Record<string, string>;
let client: Groq;

beforeAll(async () => {
  ({ emulator, secrets } = await startTestEmulator(['team-a', 'team-b']));
  emulator.enforceRateLimits(false);
  client = groqClient(emulator, secrets['team-a']!);
});
afterAll(() => emulator.close());

describe('chat completions through groq-sdk', () => {
  it('answers in Groq shape, with x-request-id equal to x_groq.id', async () => {
    const messages = userMessage('Explain token buckets briefly');
    const { data, response } = await client.chat.completions
      .create({ model: MODEL, messages, max_completion_tokens: 200 })
      .withResponse();
    expect(data.id).toMatch(/^chatcmpl-[0-9a-f-]{36}$/);
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe(MODEL);
    expect(typeof data.created).toBe('number');
    expect(data.system_fingerprint).toMatch(/^fp_[0-9a-f]{10}$/);
    expect(data.x_groq?.id).toMatch(/^req_[0-9a-z]{26}$/);
    expect(response.headers.get('x-request-id')).toBe(data.x_groq?.id);
    const choice = data.choices[0]!;
    expect(choice.index).toBe(0);
    expect(choice.message.role).toBe('assistant');
    expect(choice.logprobs).toBeNull();
    expect(choice.finish_reason).toBe('stop');
    const usage = data.usage!;
    expect(usage.prompt_tokens).toBe(countPromptTokens(messages));
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    for (const field of ['queue_time', 'prompt_time', 'completion_time', 'total_time'] as const) {
      expect(typeof usage[field]).toBe('number');
    }
    expect(choice.message.content?.split(' ')).toHaveLength(usage.completion_tokens);
  });

  it('replies deterministically: same request, same text and tokens; alias max_tokens caps it', async () => {
    const messages = userMessage('Same question twice [[emulator:completion_tokens=30]]');
    const a = await client.chat.completions.create({ model: MODEL, messages });
    const b = await groqClient(emulator, secrets['team-b']!).chat.completions.create({
      model: MODEL,
      messages,
    });
    expect(b.choices[0]!.message.content).toBe(a.choices[0]!.message.content);
    expect(b.usage).toEqual(a.usage);
    expect(a.usage?.completion_tokens).toBe(30);
    const capped = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 12 });
    expect(capped.usage?.completion_tokens).toBe(12);
    expect(capped.choices[0]!.finish_reason).toBe('length');
    expect(a.choices[0]!.message.content!.startsWith(capped.choices[0]!.message.content!)).toBe(true);
  });

  it('streams chunks with x_groq.id first and last, usage in the last chunk, then [DONE]', async () => {
    const messages = userMessage('Stream this [[emulator:completion_tokens=25]]');
    const { data: stream, response } = await client.chat.completions
      .create({ model: MODEL, messages, stream: true })
      .withResponse();
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks).toHaveLength(25 + 2);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    const first = chunks[0]!;
    const last = chunks.at(-1)!;
    expect(first.x_groq?.id).toBe(response.headers.get('x-request-id'));
    expect(first.choices[0]!.delta.role).toBe('assistant');
    expect(last.x_groq?.id).toBe(first.x_groq?.id);
    expect(last.choices[0]!.finish_reason).toBe('stop');
    expect(last.x_groq?.usage?.completion_tokens).toBe(25);
    const lastUsage = (last as { usage?: unknown }).usage;
    expect(lastUsage).toEqual(last.x_groq?.usage);
    expect(chunks.slice(1, -1).every((chunk) => chunk.x_groq === undefined)).toBe(true);
    const text = chunks.map((chunk) => chunk.choices[0]!.delta.content ?? '').join('');
    const json = await client.chat.completions.create({ model: MODEL, messages });
    expect(text).toBe(json.choices[0]!.message.content);
    expect(lastUsage).toEqual(json.usage);
  });

  it('lists and retrieves models', async () => {
    const list = await client.models.list();
    expect(list.object).toBe('list');
    expect(list.data.map((model) => model.id)).toEqual(emulator.config.models.map((model) => model.id));
    const model = (await client.models.retrieve('openai/gpt-oss-20b')) as unknown as Record<string, unknown>;
    expect(model).toMatchObject({
      id: 'openai/gpt-oss-20b',
      object: 'model',
      owned_by: 'OpenAI',
      active: true,
      context_window: 131072,
    });
    await expect(client.models.retrieve('nope/model')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('answers an unknown model with 404 model_not_found', async () => {
    const error = await client.chat.completions
      .create({ model: 'llama-9000', messages: userMessage('hi') })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotFoundError);
    const notFound = error as NotFoundError;
    expect(notFound.status).toBe(404);
    expect(notFound.error).toEqual({
      error: {
        message: 'The model `llama-9000` does not exist or you do not have access to it.',
        type: 'invalid_request_error',
        code: 'model_not_found',
      },
    });
    expect(notFound.headers.get('x-ratelimit-limit-requests')).not.toBeNull();
  });

  it('rejects unsupported parameters with 400 like Groq', async () => {
    const attempts: Record<string, unknown>[] = [
      { n: 2 },
      { logprobs: true },
      { logit_bias: { '10': 1 } },
      { top_logprobs: 3 },
      { stop: ['a', 'b', 'c', 'd', 'e'] },
      { temperature: 2.1 },
      { messages: [{ role: 'user', content: 'hi', name: 'alice' }] },
      { messages: [{ role: 'user', content: 'hi [[emulator:completion_tokens=abc]]' }] },
    ];
    for (const extra of attempts) {
      const error = await client.chat.completions
        .create({ model: MODEL, messages: userMessage('hi'), ...extra } as never)
        .catch((caught: unknown) => caught);
      expect(error, JSON.stringify(extra)).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).error).toMatchObject({ error: { type: 'invalid_request_error' } });
    }
  });

  it('answers context_length_exceeded with 400', async () => {
    const error = await client.chat.completions
      .create({ model: MODEL, messages: userMessage('hello'), max_completion_tokens: 131_072 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).error).toEqual({
      error: {
        message: 'Please reduce the length of the messages or completion.',
        type: 'invalid_request_error',
        code: 'context_length_exceeded',
        param: 'messages',
      },
    });
  });

  it('reports cached prompt tokens asked for by directive', async () => {
    const result = await client.chat.completions.create({
      model: MODEL,
      messages: userMessage('A long shared prefix of the prompt [[emulator:cached_tokens=6]]'),
    });
    expect(result.usage?.prompt_tokens_details?.cached_tokens).toBe(6);
  });
});

describe('keys', () => {
  it('rejects missing, unknown and revoked keys with 401 invalid_api_key', async () => {
    const { secret } = emulator.addKey('short-lived');
    const shortLived = groqClient(emulator, secret);
    await expect(
      shortLived.chat.completions.create({ model: MODEL, messages: userMessage('hi') }),
    ).resolves.toBeTruthy();
    expect(emulator.revokeKey('short-lived')).toBe(true);
    for (const apiKey of [secret, `gsk_${'Q'.repeat(52)}`]) {
      const error = await groqClient(emulator, apiKey)
        .chat.completions.create({ model: MODEL, messages: userMessage('hi') })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as AuthenticationError).status).toBe(401);
      expect((error as AuthenticationError).error).toEqual({
        error: { message: 'Invalid API Key', type: 'invalid_request_error', code: 'invalid_api_key' },
      });
      expect((error as AuthenticationError).headers.get('x-ratelimit-remaining-tokens')).not.toBeNull();
    }
    const response = await fetch(`${emulator.url}/openai/v1/models`);
    expect(response.status).toBe(401);
    expect(emulator.keys().find((key) => key.name === 'short-lived')).toMatchObject({ active: false });
    expect(emulator.requestCount('short-lived')).toBe(2);
  });
});
