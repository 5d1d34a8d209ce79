/**
 * The emulator's audio and Responses endpoints through the official clients: transcriptions and
 * translations (json, text, verbose_json), billed per second with the minimum; speech billed per
 * character with a valid WAV body; Responses objects and stream events; Groq-shaped errors and limits.
 */
import { toFile } from 'groq-sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentWav, wavDurationSeconds } from '../../../domain/wav';
import type { BilledCall, RunningEmulator } from '../../../emulator/index';
import { groqClient, startTestEmulator } from './support';

const WHISPER = 'whisper-large-v3-turbo';
const TTS = 'canopylabs/orpheus-v1-english';
let emulator: RunningEmulator;
let secret: string;

beforeAll(async () => {
  const started = await startTestEmulator(['alpha'], {
    config: {
      models: {
        [WHISPER]: {
          kind: 'audio',
          price: { perHour: '0.04', minimumSeconds: 10 },
          limits: { rpm: 1000, rpd: 10000, ash: 100, asd: 1000 },
        },
        [TTS]: { kind: 'speech', price: { perMillionCharacters: '22' } },
      },
    },
  });
  emulator = started.emulator;
  secret = started.secrets['alpha']!;
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

async function calls(): Promise<BilledCall[]> {
  return ((await (await fetch(`${emulator.url}/_emulator/billing/calls`)).json()) as { calls: BilledCall[] })
    .calls;
}

describe('speech to text', () => {
  it('bills Groq minimum for 2 s and 30 s for 30 s, in every response format', async () => {
    const groq = groqClient(emulator, secret);
    const short = await groq.audio.transcriptions.create({
      file: await toFile(silentWav(2), 'short.wav'),
      model: WHISPER,
    });
    expect(typeof short.text).toBe('string');
    expect(short.text.length).toBeGreaterThan(0);
    const again = await groq.audio.transcriptions.create({
      file: await toFile(silentWav(2), 'short.wav'),
      model: WHISPER,
    });
    expect(again.text).toBe(short.text);
    const long = (await groq.audio.transcriptions.create({
      file: await toFile(silentWav(30), 'long.wav'),
      model: WHISPER,
      response_format: 'verbose_json',
    })) as unknown as { duration: number; task: string; segments: unknown[] };
    expect(long.duration).toBe(30);
    expect(long.task).toBe('transcribe');
    const text = await groq.audio.translations.create({
      file: await toFile(silentWav(12.5), 'x.wav'),
      model: WHISPER,
      response_format: 'text',
    });
    expect(typeof text).toBe('string');
    const billed = await calls();
    expect(billed.map((call) => [call.endpoint, call.quantity, call.cost_nanos])).toEqual([
      ['audio.transcriptions', 10, ((40_000_000n * 10n + 3599n) / 3600n).toString()],
      ['audio.transcriptions', 10, ((40_000_000n * 10n + 3599n) / 3600n).toString()],
      ['audio.transcriptions', 30, ((40_000_000n * 30n + 3599n) / 3600n).toString()],
      ['audio.translations', 13, ((40_000_000n * 13n + 3599n) / 3600n).toString()],
    ]);
  });

  it('answers Groq-shaped errors: unknown model 404, not audio 400, not a media file 400, audio limit 429', async () => {
    const groq = groqClient(emulator, secret);
    await expect(
      groq.audio.transcriptions.create({ file: await toFile(silentWav(1), 'a.wav'), model: 'nope' }),
    ).rejects.toMatchObject({ status: 404, error: { error: { code: 'model_not_found' } } });
    await expect(
      groq.audio.transcriptions.create({
        file: await toFile(Buffer.from('not audio'), 'a.mp3'),
        model: WHISPER,
      }),
    ).rejects.toMatchObject({ status: 400 });
    // ASH is 100: 30 s three times, then 30 s more does not fit
    for (let i = 0; i < 3; i++) {
      await groq.audio.transcriptions.create({ file: await toFile(silentWav(30), 'a.wav'), model: WHISPER });
    }
    const refused = await groq.audio.transcriptions
      .create({ file: await toFile(silentWav(30), 'a.wav'), model: WHISPER })
      .catch((error: unknown) => error as { status: number; headers: Headers; error: unknown });
    expect(refused).toMatchObject({ status: 429, error: { error: { code: 'rate_limit_exceeded' } } });
    expect(Number((refused as { headers: Headers }).headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await calls()).length).toBe(3);
  });

  it('refuses an upload over 25 MB with 413', async () => {
    const groq = groqClient(emulator, secret);
    await expect(
      groq.audio.transcriptions.create({
        file: await toFile(Buffer.alloc(25 * 1024 * 1024 + 1), 'big.wav'),
        model: WHISPER,
      }),
    ).rejects.toMatchObject({ status: 413 });
  });
});

describe('text to speech', () => {
  it('answers a valid WAV and bills the characters', async () => {
    const groq = groqClient(emulator, secret);
    const input = 'Hello there, governed world ✓';
    const response = await groq.audio.speech.create({
      model: TTS,
      input,
      voice: 'autumn',
      response_format: 'wav',
    });
    expect(response.headers.get('content-type')).toBe('audio/wav');
    const audio = Buffer.from(await response.arrayBuffer());
    expect(wavDurationSeconds(audio)).toBeGreaterThan(0);
    const [call] = await calls();
    expect(call).toMatchObject({ endpoint: 'audio.speech', unit: 'characters', quantity: [...input].length });
    expect(call!.cost_nanos).toBe(
      ((22_000_000_000n * BigInt([...input].length) + 999_999n) / 1_000_000n).toString(),
    );
  });
});

describe('responses', () => {
  it('answers a Response object and the same Response as stream events, billed in tokens', async () => {
    const openai = new OpenAI({ apiKey: secret, baseURL: `${emulator.url}/openai/v1`, maxRetries: 0 });
    const response = await openai.responses.create({ model: 'llama-3.1-8b-instant', input: 'Say hello' });
    expect(response.object).toBe('response');
    expect(response.output_text.length).toBeGreaterThan(0);
    expect(response.usage?.input_tokens).toBeGreaterThan(0);
    const stream = await openai.responses.create({
      model: 'llama-3.1-8b-instant',
      input: 'Say hello',
      stream: true,
    });
    const types: string[] = [];
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(text).toBe(response.output_text);
    expect(completed?.usage).toEqual(response.usage);
    const billed = await calls();
    expect(billed.map((call) => call.endpoint)).toEqual(['responses', 'responses']);
    expect(billed[0]!.prompt_tokens).toBe(response.usage?.input_tokens);
  });
});
