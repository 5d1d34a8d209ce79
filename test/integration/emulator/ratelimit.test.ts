import type Groq from 'groq-sdk';
import { APIError, RateLimitError } from 'groq-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock, RunningEmulator } from '../../../emulator/index';
import { countPromptTokens } from '../../../emulator/tokens';
import { groqClient, MODEL, startTestEmulator, userMessage } from './support';

/** Frozen at a fixed instant, or (when released) real time plus an offset. */
class TestClock implements Clock {
  frozen: number | null = Date.UTC(2025, 5, 1, 9, 0, 0);
  offset = 0;
  now(): number {
    return this.frozen ?? Date.now() + this.offset;
  }
  release(): void {
    this.offset = (this.frozen ?? Date.now()) - Date.now();
    this.frozen = null;
  }
}

let emulator: RunningEmulator;
let client: Groq;
let secret: string;
let clock: TestClock;

beforeEach(async () => {
  clock = new TestClock();
  let secrets;
  ({ emulator, secrets } = await startTestEmulator(['team-a'], { clock }));
  secret = secrets['team-a']!;
  emulator.setLimits(MODEL, { rpm: 1000, rpd: 10_000, tpm: 1_000, tpd: 100_000 });
  client = groqClient(emulator, secret);
});
afterEach(() => emulator.close());

const DURATION = /^(\d+h)?(\d+m)?\d+(\.\d+)?(ms|s)$/;

describe('rate limits through groq-sdk', () => {
  it('sends the six x-ratelimit headers: day requests window and minute tokens window', async () => {
    const messages = userMessage('Count me [[emulator:completion_tokens=90]]');
    const prompt = countPromptTokens(messages);
    const { response } = await client.chat.completions
      .create({ model: MODEL, messages, max_completion_tokens: 100 })
      .withResponse();
    const h = (name: string) => response.headers.get(name);
    expect(h('x-ratelimit-limit-requests')).toBe('10000');
    expect(h('x-ratelimit-remaining-requests')).toBe('9999');
    expect(h('x-ratelimit-reset-requests')).toBe('8.64s'); // one request of 10,000/day
    expect(h('x-ratelimit-limit-tokens')).toBe('1000');
    // admission counts prompt + the max completion allowance
    expect(h('x-ratelimit-remaining-tokens')).toBe(String(1000 - prompt - 100));
    expect(h('x-ratelimit-reset-tokens')).toMatch(DURATION);
    // afterwards the count is corrected to what was generated (90, not 100)
    expect(emulator.rateLimits().find((snapshot) => snapshot.model === MODEL)?.remaining.tpm).toBe(
      1000 - prompt - 90,
    );
  });

  it('answers 429 rate_limit_exceeded on TPM with Groq message, retry-after and no billing', async () => {
    const messages = userMessage('Big one [[emulator:completion_tokens=600]]');
    const prompt = countPromptTokens(messages);
    await client.chat.completions.create({ model: MODEL, messages, max_completion_tokens: 600 });
    const error = await client.chat.completions
      .create({ model: MODEL, messages, max_completion_tokens: 600 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    const limited = error as RateLimitError;
    expect(limited.status).toBe(429);
    const used = prompt + 600;
    const requested = prompt + 600;
    // 1000 tokens per minute: each missing token takes 60 ms
    const waitMs = (requested - (1000 - used)) * 60;
    expect(limited.error).toEqual({
      error: {
        message:
          `Rate limit reached for model \`${MODEL}\` in organization \`${emulator.config.orgId}\` service tier \`on_demand\` ` +
          `on tokens per minute (TPM): Limit 1000, Used ${used}, Requested ${requested}. ` +
          `Please try again in ${waitMs / 1000}s. Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing`,
        type: 'tokens',
        code: 'rate_limit_exceeded',
      },
    });
    expect(limited.headers.get('retry-after')).toBe(String(Math.ceil(waitMs / 1000)));
    expect(limited.headers.get('x-ratelimit-remaining-tokens')).toBe(String(1000 - used));
    expect(emulator.billing().totals.requests).toBe(1);
  });

  it('does not count cached prompt tokens toward TPM', async () => {
    const messages = userMessage(
      'word '.repeat(200) + '[[emulator:cached_tokens=150]] [[emulator:completion_tokens=10]]',
    );
    const prompt = countPromptTokens(messages);
    const { data, response } = await client.chat.completions
      .create({ model: MODEL, messages, max_completion_tokens: 10 })
      .withResponse();
    expect(data.usage?.prompt_tokens).toBe(prompt);
    expect(response.headers.get('x-ratelimit-remaining-tokens')).toBe(String(1000 - (prompt - 150) - 10));
  });

  it('answers 429 on RPM with type requests', async () => {
    emulator.setLimits(MODEL, { rpm: 2 });
    await client.chat.completions.create({ model: MODEL, messages: userMessage('one') });
    await client.chat.completions.create({ model: MODEL, messages: userMessage('two') });
    const error = await client.chat.completions
      .create({ model: MODEL, messages: userMessage('three') })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    const body = (error as RateLimitError).error as { error: { message: string; type: string } };
    expect(body.error.type).toBe('requests');
    expect(body.error.message).toContain(
      'on requests per minute (RPM): Limit 2, Used 2, Requested 1. Please try again in 30s.',
    );
    expect((error as RateLimitError).headers.get('retry-after')).toBe('30');
  });

  it('answers 413 when one request is larger than the TPM limit, and the SDK does not retry it', async () => {
    const error = await groqClient(emulator, secret, { maxRetries: 2 })
      .chat.completions.create({ model: MODEL, messages: userMessage('hi'), max_completion_tokens: 2000 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    const tooLarge = error as APIError;
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.error).toMatchObject({ error: { type: 'tokens', code: 'rate_limit_exceeded' } });
    expect((tooLarge.error as { error: { message: string } }).error.message).toContain(
      `Request too large for model \`${MODEL}\` in organization \`${emulator.config.orgId}\` service tier \`on_demand\` on tokens per minute (TPM): Limit 1000, Requested ${countPromptTokens(userMessage('hi')) + 2000}`,
    );
    expect(emulator.requestCount('team-a')).toBe(1);
    expect(emulator.billing().totals.requests).toBe(0);
  });

  it('lets the SDK retry a 429 after retry-after and recover', async () => {
    const messages = userMessage('Retry me [[emulator:completion_tokens=600]]');
    const prompt = countPromptTokens(messages);
    await client.chat.completions.create({ model: MODEL, messages, max_completion_tokens: 600 });
    // move the clock so that the bucket is a few tokens short: a sub-second wait, retry-after 1
    const shortBy = 4;
    const refillMs = (prompt + 600 - (1000 - (prompt + 600)) - shortBy) * 60;
    clock.frozen! += refillMs;
    clock.release();
    const retrying = groqClient(emulator, secret, { maxRetries: 2 });
    const { data, response } = await retrying.chat.completions
      .create({ model: MODEL, messages, max_completion_tokens: 600 })
      .withResponse();
    expect(data.usage?.completion_tokens).toBe(600);
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('1000');
    const minutes = emulator.requestLog().keys['team-a']!.minutes;
    const statuses = minutes.reduce<Record<string, number>>((all, minute) => {
      for (const [status, count] of Object.entries(minute.statuses)) all[status] = (all[status] ?? 0) + count;
      return all;
    }, {});
    expect(statuses).toEqual({ '200': 2, '429': 1 });
    expect(emulator.billing().totals.requests).toBe(2);
  });
});
