import type Groq from 'groq-sdk';
import { BadRequestError, NotFoundError, toFile } from 'groq-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../../emulator/index';
import { expectedCost, groqClient, MODEL, startTestEmulator, type SeenUsage } from './support';

let emulator: RunningEmulator;
let client: Groq;

async function setup(options: Parameters<typeof startTestEmulator>[1] = {}): Promise<void> {
  const started = await startTestEmulator(['batcher'], options);
  emulator = started.emulator;
  client = groqClient(emulator, started.secrets['batcher']!);
}
afterEach(() => emulator?.close());

function line(customId: string, content: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: MODEL, messages: [{ role: 'user', content }], ...extra },
  });
}

async function upload(text: string, name = 'requests.jsonl') {
  return client.files.create({ file: await toFile(Buffer.from(text), name), purpose: 'batch' });
}

async function contentOf(fileId: string): Promise<Record<string, unknown>[]> {
  const response = await client.files.content(fileId);
  const text = await response.text();
  return text
    .trim()
    .split('\n')
    .map((row) => JSON.parse(row) as Record<string, unknown>);
}

describe('files and batches through groq-sdk', () => {
  it('runs a batch to completed with Groq-format output and error files, billed at the batch price', async () => {
    await setup();
    const jsonl = [
      line('first', 'Summarize the ledger [[emulator:completion_tokens=40]]'),
      line('second', 'Shared prefix [[emulator:cached_tokens=3]] [[emulator:completion_tokens=12]]'),
      JSON.stringify({
        custom_id: 'third',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] },
      }),
      line('fourth', 'Capped [[emulator:completion_tokens=40]]', { max_completion_tokens: 10 }),
    ].join('\n');
    const file = await upload(jsonl + '\n');
    expect(file).toMatchObject({
      object: 'file',
      purpose: 'batch',
      filename: 'requests.jsonl',
      bytes: Buffer.byteLength(jsonl) + 1,
    });
    expect(file.id).toMatch(/^file_[0-9a-z]{26}$/);
    expect((await client.files.list()).data.map((listed) => listed.id)).toContain(file.id);
    expect(await client.files.info(file.id!)).toEqual(file);

    const created = await client.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { purpose: 'test' },
    });
    expect(created.id).toMatch(/^batch_[0-9a-z]{26}$/);
    expect(created.status).toBe('validating');
    expect(created.expires_at).toBe(created.created_at + 24 * 3600);

    await emulator.batchesIdle();
    const batch = await client.batches.retrieve(created.id);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 4, completed: 3, failed: 1 });
    expect(batch.metadata).toEqual({ purpose: 'test' });
    expect(batch.errors).toBeNull();
    for (const stamp of ['in_progress_at', 'finalizing_at', 'completed_at'] as const) {
      expect(batch[stamp]).toBeGreaterThanOrEqual(batch.created_at);
    }
    expect((await client.batches.list()).data.map((listed) => listed.id)).toContain(batch.id);

    const output = await contentOf(batch.output_file_id!);
    expect(output.map((row) => row.custom_id)).toEqual(['first', 'second', 'fourth']);
    const usages: SeenUsage[] = [];
    for (const row of output) {
      expect(row.id).toMatch(/^batch_req_out_[0-9a-z]{26}$/);
      expect(row.error).toBeNull();
      const response = row.response as {
        status_code: number;
        request_id: string;
        body: Groq.Chat.ChatCompletion;
      };
      expect(response.status_code).toBe(200);
      expect(response.request_id).toMatch(/^req_/);
      expect(response.body.object).toBe('chat.completion');
      expect(response.body.x_groq?.id).toBe(response.request_id);
      usages.push({ model: response.body.model, ...response.body.usage! });
    }
    const [first, second, fourth] = output.map(
      (row) => (row.response as { body: Groq.Chat.ChatCompletion }).body,
    );
    expect(first!.usage?.completion_tokens).toBe(40);
    expect(second!.usage?.prompt_tokens_details?.cached_tokens).toBe(3);
    expect(fourth!.choices[0]!.finish_reason).toBe('length');

    // a batch line answers exactly like the same realtime request
    const realtime = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Summarize the ledger [[emulator:completion_tokens=40]]' }],
    });
    expect(first!.choices[0]!.message.content).toBe(realtime.choices[0]!.message.content);

    const errors = await contentOf(batch.error_file_id!);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      custom_id: 'third',
      response: { status_code: 404, body: { error: { code: 'model_not_found' } } },
      error: null,
    });

    const billing = emulator.billing();
    const keyLine = billing.keys['batcher']!.models[MODEL]!;
    expect(keyLine.batch.requests).toBe(3);
    expect(BigInt(keyLine.batch.cost_nanos)).toBe(expectedCost(emulator, usages, true));
    expect(BigInt(keyLine.realtime.cost_nanos)).toBe(
      expectedCost(emulator, [{ model: MODEL, ...realtime.usage! }]),
    );
    // half price, to the unit (rounded up once per call)
    const full = expectedCost(emulator, usages, false);
    expect(BigInt(keyLine.batch.cost_nanos)).toBeLessThan(full);
    const calls = emulator.billedCalls().filter((call) => call.batch);
    expect(calls.map((call) => call.custom_id)).toEqual(['first', 'second', 'fourth']);
    expect(calls.every((call) => call.batch_id === batch.id)).toBe(true);
  });

  it('fails validation with every problem and its line number', async () => {
    await setup();
    const file = await upload(
      [
        line('ok', 'fine'),
        '{not json',
        line('ok', 'duplicate id'),
        JSON.stringify({ custom_id: 'bad-url', method: 'POST', url: '/v1/embeddings', body: {} }),
        JSON.stringify({ method: 'GET', url: '/v1/chat/completions', body: {} }),
      ].join('\n'),
    );
    const created = await client.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '48h',
    });
    await emulator.batchesIdle();
    const batch = await client.batches.retrieve(created.id);
    expect(batch.status).toBe('failed');
    expect(batch.failed_at).not.toBeNull();
    expect(batch.output_file_id).toBeNull();
    expect(batch.errors?.object).toBe('list');
    expect(batch.errors?.data?.map((error) => [error.line, error.code])).toEqual([
      [2, 'invalid_json_line'],
      [3, 'duplicate_custom_id'],
      [4, 'invalid_url'],
      [5, 'missing_required_parameter'],
      [5, 'invalid_method'],
    ]);
    expect(emulator.billing().totals.requests).toBe(0);
  });

  it('cancels a running batch, keeping what was done and billing only that', async () => {
    await setup({ batch: { validatingMs: 0, requestMs: 20, finalizingMs: 0, concurrency: 1 } });
    const file = await upload(Array.from({ length: 30 }, (_, i) => line(`r${i}`, `request ${i}`)).join('\n'));
    const created = await client.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await expect
      .poll(async () => (await client.batches.retrieve(created.id)).request_counts?.completed)
      .toBeGreaterThan(0);
    const cancelling = await client.batches.cancel(created.id);
    expect(cancelling.status).toBe('cancelling');
    expect(cancelling.cancelling_at).not.toBeNull();
    await emulator.batchesIdle();
    const batch = await client.batches.retrieve(created.id);
    expect(batch.status).toBe('cancelled');
    expect(batch.cancelled_at).not.toBeNull();
    const done = batch.request_counts!.completed;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(30);
    expect(await contentOf(batch.output_file_id!)).toHaveLength(done);
    expect(emulator.billing().totals.batch.requests).toBe(done);
    await expect(client.batches.cancel(created.id)).resolves.toMatchObject({ status: 'cancelled' });
  });

  it('expires lines not run before the completion window ends', async () => {
    let offset = 0;
    const clock = { now: () => Date.now() + offset };
    await setup({ clock, batch: { validatingMs: 0, requestMs: 10, finalizingMs: 0, concurrency: 1 } });
    const file = await upload(Array.from({ length: 40 }, (_, i) => line(`e${i}`, `request ${i}`)).join('\n'));
    const created = await client.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await expect
      .poll(async () => (await client.batches.retrieve(created.id)).request_counts?.completed)
      .toBeGreaterThan(0);
    offset += 25 * 3600 * 1000;
    await emulator.batchesIdle();
    const batch = await client.batches.retrieve(created.id);
    expect(batch.status).toBe('expired');
    expect(batch.expired_at).not.toBeNull();
    const { completed, failed, total } = batch.request_counts!;
    expect(total).toBe(40);
    expect(completed + failed).toBe(40);
    const errors = await contentOf(batch.error_file_id!);
    expect(errors).toHaveLength(failed);
    expect(errors[0]).toMatchObject({ response: null, error: { code: 'batch_expired' } });
  });

  it('rejects bad uploads and bad batch requests', async () => {
    await setup();
    await expect(
      client.files.create({ file: await toFile(Buffer.from('{}'), 'requests.csv'), purpose: 'batch' }),
    ).rejects.toBeInstanceOf(BadRequestError);
    await expect(
      client.batches.create({
        input_file_id: 'file_missing',
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      }),
    ).rejects.toBeInstanceOf(BadRequestError);
    const file = await upload(line('a', 'b'));
    for (const completion_window of ['12h', '8d', 'soon']) {
      await expect(
        client.batches.create({
          input_file_id: file.id!,
          endpoint: '/v1/chat/completions',
          completion_window,
        }),
      ).rejects.toMatchObject({ status: 400, error: { error: { param: 'completion_window' } } });
    }
    await expect(
      client.batches.create({
        input_file_id: file.id!,
        endpoint: '/v1/embeddings' as never,
        completion_window: '7d',
      }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(client.batches.retrieve('batch_nope')).rejects.toBeInstanceOf(NotFoundError);
    expect(await client.files.delete(file.id!)).toEqual({ id: file.id, object: 'file', deleted: true });
    await expect(client.files.info(file.id!)).rejects.toBeInstanceOf(NotFoundError);
  });
});
