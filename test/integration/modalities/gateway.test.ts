/**
 * Speech to text, text to speech and the Responses API through the gateway with the unchanged official
 * clients, against the emulator: each request a governedModality workflow, billed exactly, refused in
 * Groq's shape (403 model, 413 size, 402 budget, 429 audio seconds with retry-after), a concurrent race on
 * a small budget with no overspend, and the ledger equal to the emulator's bill across a mixed run.
 */
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq, { toFile } from 'groq-sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentWav, wavDurationSeconds } from '../../../domain/wav';
import type { BillingReport } from '../../../emulator/index';
import { periodOf, teamScope } from '../../../ledger';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';
import { modalityWorkflowId } from '../../../client/gateway/modality-run';
import { isoWeekOf } from '../../../domain/reports/iso-week';
import { renderMarkdown } from '../../../domain/reports/render-text';
import { loadWeeklyReport } from '../../../ledger/reports';
import { audioNanos, CHAT, modalityConfig, TTS, usageRows, WHISPER, WHISPER_LIMITED } from './support';

type ApiError = { status: number; headers: Headers; error: { error: Record<string, unknown> } };
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as ApiError,
  );

describe('speech, audio and responses through the gateway', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let voice: Groq;
  let voiceOpenai: OpenAI;
  const period = periodOf(new Date(), 'UTC');
  const client = async (team: string) =>
    new Groq({ baseURL: stack.gateway!.url, apiKey: (await stack.issue(team)).key, maxRetries: 0 });

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true, codec: true, config: modalityConfig() });
    const key = (await stack.issue('voice')).key;
    voice = new Groq({ baseURL: stack.gateway!.url, apiKey: key, maxRetries: 0 });
    voiceOpenai = new OpenAI({ baseURL: `${stack.gateway!.url}/openai/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  it('a 2-second WAV bills Groq minimum (10 s), a 30-second one 30 s, each a governedModality workflow', async () => {
    const { data, response } = await voice.audio.transcriptions
      .create({ file: await toFile(silentWav(2), 'two.wav'), model: WHISPER })
      .withResponse();
    expect(typeof data.text).toBe('string');
    expect(data.text.length).toBeGreaterThan(0);
    const requestId = response.headers.get('x-request-id')!;
    const description = await env.client.workflow.getHandle(modalityWorkflowId(requestId)).describe();
    expect(description.type).toBe('governedModality');
    const thirty = silentWav(30);
    const { data: long, response: longResponse } = await voice.audio.transcriptions
      .create({ file: await toFile(thirty, 'thirty.wav'), model: WHISPER, response_format: 'verbose_json' })
      .withResponse();
    expect((long as unknown as { duration: number }).duration).toBe(30);
    const rows = (await usageRows(stack.ledger)).filter((row) => row.endpoint === 'audio.transcriptions');
    expect(rows.map((row) => [row.unit, row.quantity, row.cost_nanos])).toEqual([
      ['audio_seconds', '10', audioNanos(40_000_000n, 10).toString()],
      ['audio_seconds', '30', audioNanos(40_000_000n, 30).toString()],
    ]);
    // the upload never entered workflow history: only its id did (the history is far smaller than the file)
    const history = await env.client.workflow
      .getHandle(modalityWorkflowId(longResponse.headers.get('x-request-id')!))
      .fetchHistory();
    const historyBytes = Buffer.byteLength(historyToJSON(history));
    expect(thirty.length).toBeGreaterThan(400_000);
    expect(historyBytes).toBeLessThan(60_000);
    // the upload was kept by reference only while the request ran
    const { rows: blobs } = await stack.ledger.sql.query('SELECT id FROM audio_blobs');
    expect(blobs).toEqual([]);
  });

  it('translations answer json and text; the transcript is deterministic', async () => {
    const first = await voice.audio.translations.create({
      file: await toFile(silentWav(12), 'a.wav'),
      model: WHISPER,
    });
    const second = await voice.audio.translations.create({
      file: await toFile(silentWav(12), 'a.wav'),
      model: WHISPER,
    });
    expect(second.text).toBe(first.text);
    const text = await voice.audio.translations.create({
      file: await toFile(silentWav(12), 'a.wav'),
      model: WHISPER,
      response_format: 'text',
    });
    expect(text).toBe(first.text);
    const rows = (await usageRows(stack.ledger)).filter((row) => row.endpoint === 'audio.translations');
    expect(rows.map((row) => row.quantity)).toEqual(['12', '12', '12']);
  });

  it('speech answers a valid WAV, billed per character', async () => {
    const input = 'Governed speech for everyone.';
    const response = await voice.audio.speech.create({
      model: TTS,
      input,
      voice: 'autumn',
      response_format: 'wav',
    });
    const audio = Buffer.from(await response.arrayBuffer());
    expect(wavDurationSeconds(audio)).toBeGreaterThan(0);
    const [row] = (await usageRows(stack.ledger)).filter((r) => r.endpoint === 'audio.speech');
    expect(row).toMatchObject({ unit: 'characters', quantity: String(input.length) });
    expect(row!.cost_nanos).toBe(
      ((22_000_000_000n * BigInt(input.length) + 999_999n) / 1_000_000n).toString(),
    );
  });

  it('responses.create answers a Response, and streams its events', async () => {
    const response = await voiceOpenai.responses.create({
      model: CHAT,
      input: 'Hello responses',
      max_output_tokens: 40,
    });
    expect(response.object).toBe('response');
    expect(response.output_text.length).toBeGreaterThan(0);
    const stream = await voiceOpenai.responses.create({
      model: CHAT,
      input: 'Hello responses',
      stream: true,
    });
    const types: string[] = [];
    let text = '';
    let usage: OpenAI.Responses.ResponseUsage | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') usage = event.response.usage;
    }
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(text.length).toBeGreaterThan(0);
    const rows = (await usageRows(stack.ledger)).filter((row) => row.endpoint === 'responses');
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => row.unit === 'tokens' && BigInt(row.cost_nanos) > 0n)).toBe(true);
    expect(usage?.input_tokens).toBeGreaterThan(0);
  });

  it('passes Groq errors through in their shape, unbilled: a file Groq cannot decode is 400', async () => {
    const before = (await stack.emulator.billing()).totals.requests;
    const refused = await failure(
      voice.audio.transcriptions.create({
        file: await toFile(Buffer.from('ID3 not audio'), 'a.mp3'),
        model: WHISPER,
      }),
    );
    expect(refused).toMatchObject({
      status: 400,
      error: { error: { message: 'could not process file - is it a valid media file?', param: 'file' } },
    });
    expect((await stack.emulator.billing()).totals.requests).toBe(before);
  });

  it('retries a Groq 500 with the same upload by reference, billing only the answered attempt', async () => {
    stack.emulator.injectFault({ kind: 'status', status: 500, model: WHISPER, count: 1 });
    const before = (await stack.emulator.billing()).totals.requests;
    const { data, response } = await voice.audio.transcriptions
      .create({ file: await toFile(silentWav(11), 'retry.wav'), model: WHISPER })
      .withResponse();
    expect(data.text.length).toBeGreaterThan(0);
    const requestId = response.headers.get('x-request-id')!;
    const rows = (await usageRows(stack.ledger)).filter((row) => row.request_id === requestId);
    expect(rows.map((row) => [row.outcome, row.quantity, row.cost_nanos])).toEqual([
      ['error', '0', '0'],
      ['success', '11', audioNanos(40_000_000n, 11).toString()],
    ]);
    expect((await stack.emulator.billing()).totals.requests).toBe(before + 1);
  });

  it('refuses a model the team may not use with 403', async () => {
    const text = await client('text');
    const refused = await failure(
      text.audio.transcriptions.create({ file: await toFile(silentWav(2), 'a.wav'), model: WHISPER }),
    );
    expect(refused).toMatchObject({ status: 403, error: { error: { code: 'model_not_allowed' } } });
    const speech = await failure(text.audio.speech.create({ model: TTS, input: 'hi', voice: 'autumn' }));
    expect(speech).toMatchObject({ status: 403 });
    const openai = new OpenAI({
      baseURL: `${stack.gateway!.url}/openai/v1`,
      apiKey: (await stack.issue('text', 'member', [CHAT])).key,
      maxRetries: 0,
    });
    await expect(openai.responses.create({ model: WHISPER, input: 'x' })).rejects.toMatchObject({
      status: 403,
    });
  });

  it('refuses an upload over 25 MB with 413, and a speech input over the character cap', async () => {
    const refused = await failure(
      voice.audio.transcriptions.create({
        file: await toFile(Buffer.alloc(25 * 1024 * 1024 + 100 * 1024), 'big.wav'),
        model: WHISPER,
      }),
    );
    expect(refused).toMatchObject({ status: 413, error: { error: { code: 'request_too_large' } } });
    const long = await failure(
      voice.audio.speech.create({ model: TTS, input: 'a'.repeat(10_001), voice: 'autumn' }),
    );
    expect(long).toMatchObject({
      status: 413,
      error: { error: { code: 'request_too_large', param: 'input' } },
    });
  });

  it('refuses form fields that break the text rule with 400 naming the field, storing and calling nothing', async () => {
    const blobs = async () =>
      (await stack.ledger.sql.query('SELECT count(*)::int AS n FROM audio_blobs')).rows[0]!.n;
    const before = { blobs: await blobs(), billed: stack.emulator.billedCalls().length };
    const nul = await failure(
      voice.audio.transcriptions.create({
        file: await toFile(silentWav(2), 'a.wav'),
        model: WHISPER,
        prompt: 'names: Ana\u0000Bo',
      }),
    );
    expect(nul).toMatchObject({ status: 400, error: { error: { param: 'prompt' } } });
    const long = await failure(
      voice.audio.transcriptions.create({
        file: await toFile(silentWav(2), 'a.wav'),
        model: WHISPER,
        language: 'x'.repeat(257),
      }),
    );
    expect(long).toMatchObject({ status: 400, error: { error: { param: 'language' } } });
    // bytes that are not UTF-8 in a field, sent as raw multipart
    const boundary = 'governor-test-boundary';
    const field = (name: string, value: Buffer) =>
      Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`),
        value,
        Buffer.from('\r\n'),
      ]);
    const body = Buffer.concat([
      field('model', Buffer.from(WHISPER)),
      field('prompt', Buffer.from([0x61, 0xc3, 0x28])),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n`),
      Buffer.from('Content-Type: audio/wav\r\n\r\n'),
      silentWav(2),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const raw = await fetch(`${stack.gateway!.url}/openai/v1/audio/transcriptions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${(await stack.issue('voice')).key}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      body,
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({
      error: { type: 'invalid_request_error', param: 'prompt', message: 'prompt must be valid UTF-8.' },
    });
    expect(await blobs()).toBe(before.blobs);
    expect(stack.emulator.billedCalls().length).toBe(before.billed);
  });

  it('refuses a request over the budget with 402 before calling Groq', async () => {
    const tiny = await client('tiny');
    const before = (await stack.emulator.billing()).totals.requests;
    // 10 s billed at $0.04/h is 111,112 nanos, more than the 100,000 of the budget
    const refused = await failure(
      tiny.audio.transcriptions.create({ file: await toFile(silentWav(2), 'a.wav'), model: WHISPER }),
    );
    expect(refused).toMatchObject({ status: 402, error: { error: { code: 'budget_exceeded' } } });
    expect((await stack.emulator.billing()).totals.requests).toBe(before);
  });

  it('refuses audio over the audio-seconds-per-hour limit with 429 and retry-after', async () => {
    // whisper-large-v3 allows 60 audio seconds an hour: two 30-second files, then no room for a third
    for (let i = 0; i < 2; i++) {
      await voice.audio.transcriptions.create({
        file: await toFile(silentWav(30), 'a.wav'),
        model: WHISPER_LIMITED,
      });
    }
    const refused = await failure(
      voice.audio.transcriptions.create({
        file: await toFile(silentWav(30), 'a.wav'),
        model: WHISPER_LIMITED,
      }),
    );
    expect(refused).toMatchObject({ status: 429, error: { error: { code: 'rate_limit_exceeded' } } });
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(1000);
  });

  it('a concurrent race on a small budget ends with no overspend', async () => {
    const race = await client('race');
    const budget = 500_000n;
    const perCall = audioNanos(40_000_000n, 10);
    const results = await Promise.all(
      Array.from({ length: 12 }, async () =>
        race.audio.transcriptions.create({ file: await toFile(silentWav(2), 'a.wav'), model: WHISPER }).then(
          () => 200,
          (error: unknown) => (error as ApiError).status,
        ),
      ),
    );
    const served = results.filter((status) => status === 200).length;
    expect(served).toBe(Number(budget / perCall));
    expect(results.filter((status) => status !== 200).every((status) => status === 402)).toBe(true);
    const spend = await stack.ledger.spendOfScopes([teamScope('race')], period);
    expect(spend.get(teamScope('race'))).toBe(perCall * BigInt(served));
    expect(spend.get(teamScope('race'))! <= budget).toBe(true);
    // the spend reached 88% of the budget: the 50% and 80% alerts fired, once each
    const fired = stack.alerts.filter((alert) => alert.scope === 'team' && alert.team === 'race');
    expect(fired.map((alert) => alert.threshold)).toEqual([50, 80]);
  });

  it('the ledger equals the emulator bill to the nano-dollar across chat, audio, speech and responses', async () => {
    await voice.chat.completions.create({
      model: CHAT,
      messages: [{ role: 'user', content: 'mixed' }],
      max_tokens: 20,
    });
    await voice.audio.transcriptions.create({ file: await toFile(silentWav(17.3), 'a.wav'), model: WHISPER });
    await voice.audio.speech.create({ model: TTS, input: 'Mixed run ✓ speech', voice: 'autumn' });
    await voiceOpenai.responses.create({ model: CHAT, input: 'mixed responses' });
    const bill = (await (await fetch(`${stack.emulator.url}/_emulator/billing`)).json()) as BillingReport;
    const rows = await usageRows(stack.ledger);
    const ledgerTotal = rows.reduce((sum, row) => sum + BigInt(row.cost_nanos), 0n);
    expect(ledgerTotal.toString()).toBe(bill.totals.cost_nanos);
    expect(new Set(rows.map((row) => row.endpoint))).toEqual(
      new Set([
        'chat.completions',
        'audio.transcriptions',
        'audio.translations',
        'audio.speech',
        'responses',
      ]),
    );
    const calls = (
      (await (await fetch(`${stack.emulator.url}/_emulator/billing/calls`)).json()) as {
        calls: { request_id: string; cost_nanos: string }[];
      }
    ).calls;
    const byId = new Map(calls.map((call) => [call.request_id, call.cost_nanos]));
    for (const row of rows.filter((r) => r.outcome === 'success')) {
      expect(byId.get(row.upstream_request_id!)).toBe(row.cost_nanos);
    }
  });

  it('/metrics, /admin/usage and the weekly report show each modality', async () => {
    const admin = (await stack.issue(null, 'org-admin')).key;
    const authorization = { authorization: `Bearer ${admin}` };
    const metrics = await (await fetch(`${stack.gateway!.url}/metrics`, { headers: authorization })).text();
    const endpoints = [
      'chat.completions',
      'responses',
      'audio.transcriptions',
      'audio.translations',
      'audio.speech',
    ];
    for (const endpoint of endpoints) {
      expect(metrics).toMatch(
        new RegExp(
          `groq_governor_period_modality_cost_nanos\\{[^}]*endpoint="${endpoint.replace('.', '\\.')}"`,
        ),
      );
    }
    expect(metrics).toMatch(
      /groq_governor_period_modality_quantity\{[^}]*team="voice"[^}]*endpoint="audio\.transcriptions",unit="audio_seconds"\} \d+/,
    );

    const usage = (await (
      await fetch(`${stack.gateway!.url}/admin/usage?team=voice`, { headers: authorization })
    ).json()) as {
      spend: { committed: { nanos: string } };
      by_modality: { endpoint: string; unit: string; quantity: number; cost: { nanos: string } }[];
    };
    expect(new Set(usage.by_modality.map((line) => line.endpoint))).toEqual(new Set(endpoints));
    const byModalityTotal = usage.by_modality.reduce((sum, line) => sum + BigInt(line.cost.nanos), 0n);
    expect(byModalityTotal.toString()).toBe(usage.spend.committed.nanos);
    const speech = usage.by_modality.find((line) => line.endpoint === 'audio.speech')!;
    expect(speech.unit).toBe('characters');

    const report = await loadWeeklyReport(
      stack.ledger.sql,
      stack.config,
      isoWeekOf(new Date(), 'UTC'),
      new Date(),
    );
    const voiceRow = report.teams.find((team) => team.team === 'voice')!;
    expect(voiceRow.modalities.map((line) => line.endpoint)).toEqual([...endpoints].sort());
    expect(voiceRow.modalities.reduce((sum, line) => sum + line.costNanos, 0n)).toBe(
      voiceRow.totals.costNanos,
    );
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('## Spend per modality');
    expect(markdown).toMatch(/\| voice +\| audio\.transcriptions +\| \d+ +\| [\d,]+ audio seconds/);
    expect(markdown).toMatch(/\| voice +\| audio\.speech +\| \d+ +\| [\d,]+ characters/);
  });
});
