/** The pure pieces of speech, audio and Responses: WAV durations, per-second and per-character costs, the Responses request and its events. */
import { describe, expect, it } from 'vitest';
import {
  audioCost,
  billedAudioSeconds,
  speechCharacters,
  speechCost,
  worstCaseAudioSeconds,
} from '../../domain/modality-pricing';
import { parseResponsesRequest, responseStreamEvents, responseUsage } from '../../domain/responses';
import { silentWav, wavDurationSeconds, wavSecondsBound } from '../../domain/wav';

const turbo = { perHour: 40_000_000n, minimumSeconds: 10 };

describe('WAV headers', () => {
  it('reads the duration of a PCM file and refuses what is not WAV', () => {
    expect(wavDurationSeconds(silentWav(2))).toBe(2);
    expect(wavDurationSeconds(silentWav(30, 16000))).toBe(30);
    expect(wavDurationSeconds(silentWav(1.5))).toBe(1.5);
    expect(silentWav(2).length).toBe(44 + 2 * 8000 * 2);
    expect(wavDurationSeconds(Buffer.from('ID3 not a wav file at all'))).toBeNull();
    expect(wavDurationSeconds(silentWav(2).subarray(0, 30))).toBeNull();
  });

  it('bounds a file whose header states less data than it holds by every byte after the header', () => {
    const file = silentWav(10);
    file.writeUInt32LE(8000 * 2, 40); // claims 1 s
    expect(wavDurationSeconds(file)).toBe(1);
    expect(wavSecondsBound(file)).toBe(10);
    expect(wavSecondsBound(silentWav(3))).toBe(3);
  });

  it('counts the bytes that are there when the data size is larger than the file', () => {
    const file = silentWav(4);
    file.writeUInt32LE(0xffffffff, 40);
    expect(wavDurationSeconds(file)).toBe(4);
  });
});

describe('audio and speech costs', () => {
  it('bills whole seconds with the minimum, rounded up once', () => {
    expect(billedAudioSeconds(turbo, 2)).toBe(10);
    expect(billedAudioSeconds(turbo, 10.01)).toBe(11);
    expect(billedAudioSeconds(turbo, 30)).toBe(30);
    expect(audioCost(turbo, 10)).toBe(111_112n); // 40,000,000 x 10 / 3600 = 111,111.1
    expect(audioCost(turbo, 3600)).toBe(40_000_000n);
    expect(() => billedAudioSeconds(turbo, -1)).toThrow(RangeError);
  });

  it('bounds an unreadable upload by its size', () => {
    expect(worstCaseAudioSeconds(turbo, { bytes: 1_000_000, headerSeconds: null })).toBe(2000);
    expect(worstCaseAudioSeconds(turbo, { bytes: 1_000_000, headerSeconds: 3 })).toBe(10);
  });

  it('counts characters as code points and bills them per million', () => {
    expect(speechCharacters('héllo ✓ 😀')).toBe(9);
    expect(speechCost({ perMillionCharacters: 22_000_000_000n }, 1)).toBe(22_000n);
    expect(speechCost({ perMillionCharacters: 1n }, 1)).toBe(1n);
  });
});

describe('the Responses API', () => {
  it('reads input as text or messages, with instructions, and refuses malformed bodies', () => {
    const parsed = parseResponsesRequest({
      model: 'm',
      instructions: 'be brief',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
      max_output_tokens: 20,
      stream: true,
    });
    expect(parsed).toMatchObject({
      ok: true,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
      maxOutputTokens: 20,
      stream: true,
    });
    expect(parseResponsesRequest({ model: 'm' })).toMatchObject({ ok: false, param: 'input' });
    expect(parseResponsesRequest({ input: 'x' })).toMatchObject({ ok: false, param: 'model' });
    expect(parseResponsesRequest({ model: 'm', input: 'x', max_output_tokens: 0 })).toMatchObject({
      ok: false,
    });
  });

  it('streams a Response as ordered events whose deltas rebuild its text', () => {
    const response = {
      id: 'resp_1',
      status: 'completed',
      output: [
        { type: 'message', id: 'msg_1', content: [{ type: 'output_text', text: 'Hello governed world.' }] },
      ],
      usage: { input_tokens: 5, output_tokens: 3, input_tokens_details: { cached_tokens: 2 } },
    };
    const events = responseStreamEvents(response);
    expect(events[0]!.type).toBe('response.created');
    expect(events.at(-1)!.type).toBe('response.completed');
    expect(events.map((event) => event.data.sequence_number)).toEqual(events.map((_, i) => i));
    const text = events
      .filter((event) => event.type === 'response.output_text.delta')
      .map((event) => event.data.delta)
      .join('');
    expect(text).toBe('Hello governed world.');
    expect(responseUsage(response)).toEqual({ promptTokens: 5, completionTokens: 3, cachedTokens: 2 });
  });
});
