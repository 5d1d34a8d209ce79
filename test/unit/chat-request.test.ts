import { describe, expect, it } from 'vitest';
import { parseChatRequest } from '../../domain/chat-request';

const base = { model: 'llama-3.1-8b-instant', messages: [{ role: 'user', content: 'hi' }] };

describe('chat request parsing', () => {
  it('accepts a minimal request and leaves the allowance to the caller', () => {
    const parsed = parseChatRequest(base);
    expect(parsed).toMatchObject({ ok: true, maxCompletionTokens: undefined });
  });

  it('prefers max_completion_tokens over the deprecated max_tokens', () => {
    expect(parseChatRequest({ ...base, max_tokens: 50, max_completion_tokens: 20 })).toMatchObject({
      ok: true,
      maxCompletionTokens: 20,
    });
    expect(parseChatRequest({ ...base, max_tokens: 50 })).toMatchObject({
      ok: true,
      maxCompletionTokens: 50,
    });
  });

  it('keeps fields it does not know, for Groq to judge', () => {
    const parsed = parseChatRequest({ ...base, reasoning_effort: 'low', seed: 7 });
    expect(parsed.ok && parsed.request).toMatchObject({ reasoning_effort: 'low', seed: 7 });
  });

  it.each([
    [{ messages: base.messages }, 'model'],
    [{ ...base, messages: [] }, 'messages'],
    [{ ...base, messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
    [{ ...base, messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
    [{ ...base, max_tokens: -1 }, 'max_tokens'],
    [{ ...base, max_completion_tokens: 1.5 }, 'max_completion_tokens'],
    [{ ...base, max_completion_tokens: 1e12 }, 'max_completion_tokens'],
    [{ ...base, n: 2 }, 'n'],
    [{ ...base, temperature: 3 }, 'temperature'],
    [{ ...base, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    [{ ...base, stream: 'yes' }, 'stream'],
  ])('refuses %j naming %s', (body, param) => {
    const parsed = parseChatRequest(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.param).toBe(param);
      expect(parsed.message.startsWith(`${param}: `)).toBe(true);
    }
  });

  it.each([null, 'text', 42, [base]])('refuses a body that is not an object: %j', (body) => {
    expect(parseChatRequest(body).ok).toBe(false);
  });
});
