// Mode groq-batch: the gateway's batch goes to the emulator's Batch API, is polled with durable timers
// until it is final, and its lines are booked at the batch price, equal to what the emulator billed.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costOf } from '../../../domain/pricing';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';
import { BATCH_MODEL, fileLines, jsonl, upload, waitForBatch } from './support';

describe('batches in groq-batch mode', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let groq: Groq;

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true });
    groq = new Groq({ baseURL: stack.gateway!.url, apiKey: (await stack.issue('alpha')).key, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  it('a 24h batch runs on the Batch API and is billed at the batch price', async () => {
    const billedBefore = stack.emulator.billedCalls().length;
    const file = await upload(groq, jsonl(25, 'upstream', { completionTokens: 7 }));
    const created = await groq.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    expect((created as unknown as { x_governor: { mode: string } }).x_governor.mode).toBe('groq-batch');
    const done = await waitForBatch(groq, created.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 25, completed: 25, failed: 0 });

    const output = await fileLines(groq, done.output_file_id!);
    expect(output.map((line) => line.custom_id).sort()).toEqual(
      Array.from({ length: 25 }, (_, n) => `upstream-${n}`).sort(),
    );

    // the emulator ran every line through its Batch API, at the batch price
    const billed = stack.emulator.billedCalls().slice(billedBefore);
    expect(billed).toHaveLength(25);
    expect(billed.every((call) => call.batch)).toBe(true);
    const { rows } = await stack.ledger.sql.query(
      `SELECT request_id, cost_nanos, prompt_tokens, completion_tokens, batch FROM usage_records
        WHERE request_id LIKE $1 AND outcome = 'success'`,
      [`batch:${created.id}:%`],
    );
    expect(rows).toHaveLength(25);
    const byCustomId = new Map(billed.map((call) => [call.custom_id, call]));
    for (const row of rows) {
      const call = byCustomId.get(String(row.request_id).split(':').at(-1))!;
      expect(BigInt(String(row.cost_nanos))).toBe(BigInt(call.cost_nanos));
      expect(row.batch).toBe(true);
      // half the list price (pricing.batchDiscountPercent: 50), exactly
      const usage = { promptTokens: call.prompt_tokens, completionTokens: call.completion_tokens };
      expect(BigInt(call.cost_nanos)).toBe(costOf(stack.config.pricing, BATCH_MODEL, usage, { batch: true }));
      expect(BigInt(call.cost_nanos) * 2n).toBeGreaterThanOrEqual(
        costOf(stack.config.pricing, BATCH_MODEL, usage),
      );
    }
    const total = billed.reduce((sum, call) => sum + BigInt(call.cost_nanos), 0n);
    expect((done as unknown as { x_governor: { spend_nanos: string } }).x_governor.spend_nanos).toBe(
      total.toString(),
    );
    // the one reservation of the whole batch settled at exactly that total
    const reservation = await stack.ledger.getReservation(`batch:${created.id}:groq-batch#1`);
    expect(reservation).toMatchObject({ state: 'settled', settledAmount: total });
  }, 120_000);

  it('mode realtime can be asked for explicitly with a 24h window', async () => {
    const file = await upload(groq, jsonl(3, 'explicit'));
    const created = await groq.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { mode: 'realtime' },
    });
    expect((created as unknown as { x_governor: { mode: string } }).x_governor.mode).toBe('realtime');
    const done = await waitForBatch(groq, created.id);
    expect(done.request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
  }, 60_000);
});
