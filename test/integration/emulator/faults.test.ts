import type Groq from 'groq-sdk';
import { APIConnectionTimeoutError, InternalServerError, RateLimitError } from 'groq-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, type RunningEmulator } from '../../../emulator/index';
import { countPromptTokens } from '../../../emulator/tokens';
import { expectedCost, groqClient, MODEL, startTestEmulator, userMessage } from './support';

let emulator: RunningEmulator;
let secrets: Record<string, string>;
let client: Groq;

beforeEach(async () => {
  // a frozen clock: the token bucket does not refill while a test reads it
  ({ emulator, secrets } = await startTestEmulator(['team-a', 'team-b'], { clock: new ManualClock() }));
  client = groqClient(emulator, secrets['team-a']!);
});
afterEach(() => emulator.close());

const tokensRemaining = (): number =>
  emulator.rateLimits().find((snapshot) => snapshot.model === MODEL)!.remaining.tpm;

describe('fault injection', () => {
  it('fails the next request with 500, not billed and not counted against the limits', async () => {
    emulator.injectFault({ kind: 'status', status: 500 });
    const before = tokensRemaining();
    const error = await client.chat.completions
      .create({ model: MODEL, messages: userMessage('hi') })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as InternalServerError).status).toBe(500);
    expect((error as InternalServerError).headers.get('x-ratelimit-limit-tokens')).toBe('6000');
    expect(emulator.billing().totals.requests).toBe(0);
    expect(emulator.billedCalls()).toEqual([]);
    expect(tokensRemaining()).toBe(before);
    // the fault is used up
    await expect(
      client.chat.completions.create({ model: MODEL, messages: userMessage('hi') }),
    ).resolves.toBeTruthy();
    expect(emulator.billing().totals.requests).toBe(1);
  });

  it('lets the SDK retry through two 503s and bills only the success', async () => {
    emulator.injectFault({ kind: 'status', status: 503, count: 2, retryAfter: 0 });
    const retrying = groqClient(emulator, secrets['team-a']!, { maxRetries: 2 });
    const result = await retrying.chat.completions.create({ model: MODEL, messages: userMessage('hi') });
    expect(result.choices[0]!.finish_reason).toBe('stop');
    expect(
      emulator.requestLog().keys['team-a']!.minutes.flatMap((minute) => Object.entries(minute.statuses)),
    ).toEqual(
      expect.arrayContaining([
        ['200', 1],
        ['503', 2],
      ]),
    );
    expect(emulator.billing().totals.requests).toBe(1);
    expect(BigInt(emulator.billing().totals.cost_nanos)).toBe(
      expectedCost(emulator, [{ model: MODEL, ...result.usage! }]),
    );
  });

  it('scopes faults to a key name or a model', async () => {
    emulator.injectFault({ kind: 'status', status: 502, key: 'team-b' });
    emulator.injectFault({ kind: 'status', status: 503, model: 'openai/gpt-oss-20b' });
    await expect(
      client.chat.completions.create({ model: MODEL, messages: userMessage('a') }),
    ).resolves.toBeTruthy();
    const other = groqClient(emulator, secrets['team-b']!);
    await expect(
      other.chat.completions.create({ model: MODEL, messages: userMessage('b') }),
    ).rejects.toMatchObject({
      status: 502,
    });
    await expect(
      client.chat.completions.create({ model: 'openai/gpt-oss-20b', messages: userMessage('c') }),
    ).rejects.toMatchObject({ status: 503 });
    expect(emulator.faults()).toEqual([]);
  });

  it('can answer 429 with a retry-after', async () => {
    emulator.injectFault({ kind: 'status', status: 429, retryAfter: 7 });
    const error = await client.chat.completions
      .create({ model: MODEL, messages: userMessage('hi') })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).headers.get('retry-after')).toBe('7');
  });

  it('cuts a stream after K chunks and bills the tokens those chunks carried', async () => {
    emulator.injectFault({ kind: 'cut_stream', afterChunks: 6 });
    const messages = userMessage('Long story [[emulator:completion_tokens=40]]');
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages,
      stream: true,
      max_completion_tokens: 50,
    });
    const seen: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(Error);
    expect(seen).toHaveLength(6); // role chunk + 5 tokens
    const calls = emulator.billedCalls();
    expect(calls).toHaveLength(1);
    const prompt = countPromptTokens(messages);
    expect(calls[0]).toMatchObject({
      prompt_tokens: prompt,
      completion_tokens: 5,
      cut: true,
      stream: true,
      batch: false,
    });
    expect(BigInt(calls[0]!.cost_nanos)).toBe(
      expectedCost(emulator, [{ model: MODEL, prompt_tokens: prompt, completion_tokens: 5 }]),
    );
    // the TPM count is corrected from prompt + 50 reserved to prompt + 5 generated
    expect(tokensRemaining()).toBe(6000 - prompt - 5);
  });

  it('cuts a paced stream (per-token latency) too', async () => {
    emulator.setLatency({ latencyMs: 5, perTokenMs: 2 });
    emulator.injectFault({ kind: 'cut_stream', afterChunks: 3 });
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: userMessage('Paced [[emulator:completion_tokens=30]]'),
      stream: true,
    });
    let count = 0;
    await expect(
      (async () => {
        for await (const _chunk of stream) count++;
      })(),
    ).rejects.toBeInstanceOf(Error);
    expect(count).toBe(3);
    expect(emulator.billedCalls()[0]).toMatchObject({ completion_tokens: 2, cut: true });
  });

  it('bills a stream the client abandons for what was sent', async () => {
    emulator.setLatency({ perTokenMs: 25 });
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: userMessage('Endless [[emulator:completion_tokens=200]]'),
      stream: true,
    });
    let tokens = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) tokens++;
      if (tokens === 4) break;
    }
    await expect.poll(() => emulator.billedCalls().length).toBe(1);
    const billed = emulator.billedCalls()[0]!;
    expect(billed.cut).toBe(true);
    expect(billed.completion_tokens).toBeGreaterThanOrEqual(4);
    expect(billed.completion_tokens).toBeLessThan(200);
  });

  it('hangs the next request until the client gives up, then serves normally', async () => {
    emulator.injectFault({ kind: 'timeout' });
    const impatient = groqClient(emulator, secrets['team-a']!, { timeout: 300 });
    const error = await impatient.chat.completions
      .create({ model: MODEL, messages: userMessage('hello?') })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIConnectionTimeoutError);
    expect(emulator.billing().totals.requests).toBe(0);
    await expect(
      impatient.chat.completions.create({ model: MODEL, messages: userMessage('hello?') }),
    ).resolves.toBeTruthy();
  });
});
