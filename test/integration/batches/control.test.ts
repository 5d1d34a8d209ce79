// Controlling batches through the gateway: cancel keeps partial results and releases what the batch
// still held; an administrator pauses and resumes; a batch outliving its completion window ends
// expired; and a batch saturating its team's rate limit leaves room for the team's interactive calls.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCompletionStack,
  TEST_CONFIG,
  testConfig,
  type CompletionStack,
} from '../../support/completion-stack';
import { devServerEnv, workflowBundle } from '../../support/temporal';
import { batchWorkflowId } from '../../../workflows/batch-job-messages';
import { fileLines, jsonl, upload, waitForBatch, BATCH_MODEL } from './support';

// a team whose rate limit a small batch fills: 20 requests a minute, 16 of them for batches
const CONFIG = `${TEST_CONFIG}
  tight:
    allowedModels: [${BATCH_MODEL}]
    maxTokensPerRequest: 64
    monthlyBudgetUsd: '10'
    rpm: 20
    tpm: 100000000
    concurrency: 500
    upstreamKey: alpha-test-gateway
gateway:
  batchWindow: 8
  batchItemsPerRun: 25
`;

type Governed = { x_governor: { spend_nanos: string; paused: boolean } };

describe('controlling batches', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let groq: Groq;
  let alphaKey: string;

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true, config: testConfig(CONFIG) });
    alphaKey = (await stack.issue('alpha')).key;
    groq = new Groq({ baseURL: stack.gateway!.url, apiKey: alphaKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  async function reservationStates(batchId: string): Promise<Record<string, number>> {
    const { rows } = await stack.ledger.sql.query(
      `SELECT state, count(*) AS n FROM budget_reservations WHERE request_id LIKE $1 GROUP BY state`,
      [`batch:${batchId}:%`],
    );
    return Object.fromEntries(rows.map((row) => [String(row.state), Number(row.n)]));
  }

  async function progressTo(client: Groq, id: string, completed: number) {
    for (;;) {
      const batch = await client.batches.retrieve(id);
      if (batch.request_counts!.completed >= completed) return batch;
      if (batch.status !== 'in_progress' && batch.status !== 'validating') throw new Error(batch.status);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function admin(path: string, key: string) {
    const response = await fetch(`${stack.gateway!.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('cancel stops new items, keeps partial results and releases every reservation', async () => {
    stack.emulator.setLatency({ latencyMs: 100 });
    try {
      const file = await upload(groq, jsonl(150, 'cancel'));
      const batch = await groq.batches.create({
        input_file_id: file.id!,
        endpoint: '/v1/chat/completions',
        completion_window: '1h',
      });
      await progressTo(groq, batch.id, 10);
      const cancelling = await groq.batches.cancel(batch.id);
      expect(['cancelling', 'cancelled']).toContain(cancelling.status);
      const done = await waitForBatch(groq, batch.id);
      expect(done.status).toBe('cancelled');
      const counts = done.request_counts!;
      expect(counts.total).toBe(150);
      expect(counts.completed).toBeGreaterThanOrEqual(10);
      expect(counts.completed).toBeLessThan(150);
      expect(counts.completed + counts.failed).toBe(150);

      const output = await fileLines(groq, done.output_file_id!);
      expect(output).toHaveLength(counts.completed);
      expect(output.every((line) => line.response?.status_code === 200)).toBe(true);
      const errors = await fileLines(groq, done.error_file_id!);
      expect(errors).toHaveLength(150 - counts.completed);
      expect(errors.every((line) => line.error?.code === 'batch_cancelled')).toBe(true);
      const all = new Set([...output, ...errors].map((line) => line.custom_id));
      expect(all.size).toBe(150);

      // nothing is held any more: items that ran are settled; an item whose chunk had reserved it but
      // not yet claimed its call when the cancel came kept its hold until the end and then released it
      const { settled, released = 0, ...others } = await reservationStates(batch.id);
      expect(settled).toBe(counts.completed);
      expect(others).toEqual({});
      expect(released).toBeLessThanOrEqual(150 - counts.completed);
      const spend = await stack.ledger.getTeamSpend('alpha', new Date().toISOString().slice(0, 7));
      expect(spend.held).toBe(0n);

      // the last run of the workflow (after continue-as-new) replays deterministically with this code
      const history = await stack.client.workflow.getHandle(batchWorkflowId(batch.id)).fetchHistory();
      expect(history.events?.some((event) => event.workflowExecutionContinuedAsNewEventAttributes)).toBe(
        false,
      );
      await expect(
        Worker.runReplayHistory({ workflowBundle: workflowBundle() }, history, batchWorkflowId(batch.id)),
      ).resolves.toBeUndefined();
    } finally {
      stack.emulator.setLatency({ latencyMs: 0 });
    }
  }, 120_000);

  it('an administrator pauses and resumes a batch; a member may not', async () => {
    stack.emulator.setLatency({ latencyMs: 50 });
    try {
      const orgAdmin = (await stack.issue(null, 'org-admin')).key;
      // the member that created the batch may read and cancel it, not pause it; no member may pause any
      // batch (403 from the key's role alone, before the batch is read); another team's admin sees nothing
      const stranger = (await stack.issue('alpha')).key;
      const otherAdmin = (await stack.issue('beta', 'team-admin')).key;
      const file = await upload(groq, jsonl(60, 'pause'));
      const batch = await groq.batches.create({
        input_file_id: file.id!,
        endpoint: '/v1/chat/completions',
        completion_window: '1h',
      });
      await progressTo(groq, batch.id, 5);
      expect((await admin(`/admin/batches/${batch.id}/pause`, alphaKey)).status).toBe(403);
      expect((await admin(`/admin/batches/${batch.id}/pause`, stranger)).status).toBe(403);
      expect((await admin(`/admin/batches/${batch.id}/pause`, otherAdmin)).status).toBe(404);
      const paused = await admin(`/admin/batches/${batch.id}/pause`, orgAdmin);
      expect(paused.status).toBe(200);
      expect((paused.body as unknown as Governed).x_governor.paused).toBe(true);
      // the items in flight finish, then nothing more is called while it is paused
      let settled = -1;
      for (;;) {
        const count = stack.emulator.billedCalls().length;
        await new Promise((resolve) => setTimeout(resolve, 500));
        if (stack.emulator.billedCalls().length === count) {
          settled = count;
          break;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(stack.emulator.billedCalls().length).toBe(settled);
      const during = await groq.batches.retrieve(batch.id);
      expect(during.status).toBe('in_progress');
      expect(during.request_counts!.completed).toBeLessThan(60);

      expect((await admin(`/admin/batches/${batch.id}/resume`, orgAdmin)).status).toBe(200);
      const done = await waitForBatch(groq, batch.id);
      expect(done.status).toBe('completed');
      expect(done.request_counts).toEqual({ total: 60, completed: 60, failed: 0 });
    } finally {
      stack.emulator.setLatency({ latencyMs: 0 });
    }
  }, 120_000);

  it('a batch that outlives its completion window ends expired with partial results', async () => {
    stack.emulator.setLatency({ latencyMs: 200 });
    try {
      const file = await upload(groq, jsonl(200, 'expire'));
      const batch = await groq.batches.create({
        input_file_id: file.id!,
        endpoint: '/v1/chat/completions',
        completion_window: '3s',
      });
      const done = await waitForBatch(groq, batch.id);
      expect(done.status).toBe('expired');
      const counts = done.request_counts!;
      expect(counts.completed).toBeGreaterThan(0);
      expect(counts.completed).toBeLessThan(200);
      const errors = await fileLines(groq, done.error_file_id!);
      expect(errors.every((line) => line.error?.code === 'batch_expired')).toBe(true);
      expect(errors.length + counts.completed).toBe(200);
      expect((await reservationStates(batch.id)).held ?? 0).toBe(0);
    } finally {
      stack.emulator.setLatency({ latencyMs: 0 });
    }
  }, 120_000);

  it("interactive requests get through while a batch saturates the team's rate limit", async () => {
    const tight = new Groq({
      baseURL: stack.gateway!.url,
      apiKey: (await stack.issue('tight')).key,
      maxRetries: 0,
    });
    const file = await upload(tight, jsonl(30, 'saturate'));
    const batch = await tight.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '1h',
    });
    // batches get 80% of the team's 20 requests a minute: 16 run, the other 14 wait for the window
    const saturated = await progressTo(tight, batch.id, 16);
    expect(saturated.request_counts!.completed).toBe(16);

    // the team's interactive calls still find their share, at once, while batch items keep waiting
    const answers = [];
    for (let n = 0; n < 4; n++) {
      answers.push(
        await tight.chat.completions.create({
          model: BATCH_MODEL,
          messages: [{ role: 'user', content: `interactive ${n}` }],
          max_completion_tokens: 8,
        }),
      );
    }
    expect(answers.map((answer) => answer.object)).toEqual(Array(4).fill('chat.completion'));
    const after = await tight.batches.retrieve(batch.id);
    expect(after.status).toBe('in_progress');
    expect(after.request_counts!.completed).toBe(16);

    const cancelled = await tight.batches.cancel(batch.id);
    expect(cancelled.id).toBe(batch.id);
    const done = await waitForBatch(tight, batch.id);
    expect(done.status).toBe('cancelled');
    expect(done.request_counts).toMatchObject({ total: 30, completed: 16 });
    // the waiting items had reserved their worst case: cancel returned it
    const states = await reservationStates(batch.id);
    expect(states.held ?? 0).toBe(0);
    expect(states.settled).toBe(16);
    expect((done as unknown as Governed).x_governor.spend_nanos).not.toBe('0');
  }, 120_000);
});
