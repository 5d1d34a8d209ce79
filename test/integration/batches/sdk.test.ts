// Batches through the gateway with the unchanged groq-sdk: upload, create, poll, download. Runs on the
// real dev server, PGlite and the emulator; the ledger is compared with the emulator's bill.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq from 'groq-sdk';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as batchCli } from '../../../client/cli/commands/batch';
import { batchWorkflowId } from '../../../workflows/batch-job-messages';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { scanHistories } from '../../support/history-scan';
import { devServerEnv } from '../../support/temporal';
import { batchLine, fileLines, jsonl, upload, waitForBatch } from './support';

describe('batches through the gateway with groq-sdk', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let groq: Groq;
  let alphaKey: string;

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true, codec: true });
    alphaKey = (await stack.issue('alpha')).key;
    groq = new Groq({ baseURL: stack.gateway!.url, apiKey: alphaKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  async function batchUsage(batchId: string) {
    const { rows } = await stack.ledger.sql.query(
      `SELECT u.request_id, u.outcome, u.cost_nanos, u.upstream_request_id, r.state
         FROM usage_records u LEFT JOIN budget_reservations r ON r.id = u.reservation_id
        WHERE u.request_id LIKE $1`,
      [`batch:${batchId}:%`],
    );
    return rows;
  }

  it('runs a realtime batch: every custom_id once in the output, the ledger equal to the bill', async () => {
    const marker = 'zebra-quartz-prompt-7731';
    const lines = Array.from({ length: 40 }, (_, n) => batchLine(`req-${n}`, `${marker} number ${n}`));
    const file = await upload(groq, lines.join('\n'));
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', filename: 'batch.jsonl' });
    expect((await groq.files.info(file.id!)).bytes).toBe(Buffer.byteLength(lines.join('\n')));

    const billedBefore = stack.emulator.billedCalls().length;
    const created = await groq.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '1h',
    });
    expect(created).toMatchObject({ object: 'batch', status: 'validating', input_file_id: file.id! });

    const done = await waitForBatch(groq, created.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 40, completed: 40, failed: 0 });
    expect(done.output_file_id).toBeTruthy();
    expect(done.error_file_id).toBeNull();

    const output = await fileLines(groq, done.output_file_id!);
    expect(output.map((line) => line.custom_id).sort()).toEqual(lines.map((_, n) => `req-${n}`).sort());
    for (const line of output) {
      expect(line.error).toBeNull();
      expect(line.response?.status_code).toBe(200);
      expect(line.response?.body).toMatchObject({ object: 'chat.completion' });
    }

    // the ledger: one success per item, each the cost the emulator billed for that call
    const billed = stack.emulator.billedCalls().slice(billedBefore);
    expect(billed).toHaveLength(40);
    const usage = await batchUsage(created.id);
    const successes = usage.filter((row) => row.outcome === 'success');
    expect(successes).toHaveLength(40);
    const byUpstream = new Map(
      successes.map((row) => [String(row.upstream_request_id), BigInt(String(row.cost_nanos))]),
    );
    for (const call of billed) expect(byUpstream.get(call.request_id)).toBe(BigInt(call.cost_nanos));
    const spend = billed.reduce((sum, call) => sum + BigInt(call.cost_nanos), 0n);
    expect((done as unknown as { x_governor: { spend_nanos: string } }).x_governor.spend_nanos).toBe(
      spend.toString(),
    );

    // the prompts never entered workflow history, not even encrypted
    const scan = await scanHistories({
      client: stack.client,
      workflowIds: [batchWorkflowId(created.id)],
      forbidden: [marker],
      decodeWith: stack.dataConverter!.payloadCodecs,
    });
    expect(scan.findings).toEqual([]);

    const listed = await groq.batches.list();
    expect(listed.data.map((batch) => batch.id)).toContain(created.id);
  }, 120_000);

  it('refuses a batch with bad lines at validating, naming each bad line', async () => {
    const content = [
      batchLine('ok-1', 'fine'),
      '{not json',
      batchLine('ok-1', 'duplicate id'),
      batchLine('big', 'too many tokens', { maxTokens: 100_000 }),
      batchLine('model', 'wrong model', { model: 'llama-3.3-70b-versatile' }),
      JSON.stringify({ custom_id: 'url', method: 'POST', url: '/v1/embeddings', body: {} }),
    ].join('\n');
    const file = await upload(groq, content);
    const billedBefore = stack.emulator.billedCalls().length;
    const created = await groq.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '1h',
    });
    const done = await waitForBatch(groq, created.id);
    expect(done.status).toBe('failed');
    expect(done.errors?.data?.map((error) => [error.line, error.code])).toEqual([
      [2, 'invalid_json'],
      [3, 'duplicate_custom_id'],
      [4, 'max_tokens_exceeded'],
      [5, 'model_not_allowed'],
      [6, 'invalid_url'],
    ]);
    expect(stack.emulator.billedCalls().length).toBe(billedBefore);
    expect(await batchUsage(created.id)).toEqual([]);
  }, 60_000);

  it('runs only the good lines when asked to skip bad ones, and lists the bad ones in the error file', async () => {
    const content = [batchLine('a', 'one'), '{not json', batchLine('b', 'two'), batchLine('a', 'dup')].join(
      '\n',
    );
    const file = await upload(groq, content);
    const created = await groq.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '1h',
      metadata: { skip_invalid_lines: 'true' },
    });
    const done = await waitForBatch(groq, created.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 2, completed: 2, failed: 0 });
    expect(done.errors?.data?.map((error) => error.line)).toEqual([2, 4]);
    const output = await fileLines(groq, done.output_file_id!);
    expect(output.map((line) => line.custom_id).sort()).toEqual(['a', 'b']);
    const errors = await fileLines(groq, done.error_file_id!);
    expect(errors.map((line) => line.error?.code)).toEqual(['invalid_json', 'duplicate_custom_id']);
  }, 60_000);

  it('refuses a batch whose worst case exceeds the budget before any call', async () => {
    // team beta has $0.0005 a month; 20 lines of up to 1024 tokens at $0.79/M may cost $0.016
    const beta = new Groq({
      baseURL: stack.gateway!.url,
      apiKey: (await stack.issue('beta')).key,
      maxRetries: 0,
    });
    const file = await upload(
      beta,
      jsonl(20, 'costly', { model: 'llama-3.3-70b-versatile', maxTokens: 1024 }),
    );
    const billedBefore = stack.emulator.billedCalls().length;
    const created = await beta.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '1h',
    });
    const done = await waitForBatch(beta, created.id);
    expect(done.status).toBe('failed');
    expect(done.errors?.data?.[0]).toMatchObject({ code: 'budget_exceeded' });
    expect(stack.emulator.billedCalls().length).toBe(billedBefore);
    const spend = await stack.ledger.getTeamSpend('beta', new Date().toISOString().slice(0, 7));
    expect(spend.held).toBe(0n);
  }, 60_000);

  it('hides a batch and its files from another team', async () => {
    const file = await upload(groq, jsonl(1, 'private'));
    const beta = new Groq({
      baseURL: stack.gateway!.url,
      apiKey: (await stack.issue('beta')).key,
      maxRetries: 0,
    });
    await expect(beta.files.info(file.id!)).rejects.toMatchObject({ status: 404 });
    await expect(
      beta.batches.create({
        input_file_id: file.id!,
        endpoint: '/v1/chat/completions',
        completion_window: '1h',
      }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('the CLI submits with a progress bar, shows the status, writes the results and cancels', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-batch-cli-'));
    try {
      const input = join(dir, 'in.jsonl');
      writeFileSync(input, jsonl(12, 'cli') + '\n{broken\n');
      const out: string[] = [];
      const err: string[] = [];
      const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) };
      const common = ['--url', stack.gateway!.url, '--key', alphaKey];
      const code = await batchCli(
        ['submit', input, '--window', '1h', '--skip-invalid-lines', '--interval', '100', ...common],
        io,
      );
      expect(code).toBe(0);
      const id = out[0]!;
      expect(id).toMatch(/^batch_/);
      expect(err.at(-1)).toMatch(/\[#+\] 100% 12\/12 \(0 failed\) completed/);
      expect(out.at(-1)).toContain('requests:    12 total, 12 completed, 0 failed');
      expect(out.at(-1)).toContain('line 13: invalid_json');

      out.length = 0;
      expect(await batchCli(['status', id, ...common], io)).toBe(0);
      expect(out[0]).toContain('status:      completed');
      expect(out[0]).toMatch(
        new RegExp(`^temporal ui: http://\\S+/namespaces/\\S+/workflows/batch-${id}$`, 'm'),
      );
      expect(err).toContain(`Temporal Web UI: ${/^temporal ui: (.*)$/m.exec(out[0]!)![1]}`);

      out.length = 0;
      const results = join(dir, 'out.jsonl');
      expect(await batchCli(['results', id, '-o', results, ...common], io)).toBe(0);
      const lines = readFileSync(results, 'utf8').trim().split('\n');
      expect(lines.map((line) => (JSON.parse(line) as { custom_id: string }).custom_id).sort()).toEqual(
        Array.from({ length: 12 }, (_, n) => `cli-${n}`).sort(),
      );
      expect(readFileSync(`${results}.errors.jsonl`, 'utf8')).toContain('invalid_json');

      out.length = 0;
      expect(await batchCli(['submit', input, '--window', '1h', '--detach', ...common], io)).toBe(0);
      // bad lines without --skip-invalid-lines: the batch fails at validating, cancel finds it final
      const detached = out[0]!;
      const failed = await waitForBatch(groq, detached);
      expect(failed.status).toBe('failed');
      out.length = 0;
      expect(await batchCli(['cancel', detached, ...common], io)).toBe(0);
      expect(out[0]).toContain('status:      failed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
