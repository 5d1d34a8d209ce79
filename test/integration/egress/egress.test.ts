// The egress (workers/egress) between the completion activities and Groq (the emulator): calls go
// through it with the official groq-sdk, their answers are journaled, and a call whose worker went away
// mid-call is booked from the journal by the attempt's next run, at exactly what the emulator billed and
// without a second call. A call the egress never began is fenced (never sent, its hold returned); one
// without an answer stays charged as unknown; requests without the egress's token are refused.
import { request as httpRequest } from 'node:http';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompletionActivities } from '../../../activities/completion';
import type { CallInput } from '../../../activities/completion/types';
import { EGRESS_CLAIM_SUFFIX, EGRESS_HEADERS } from '../../../domain/egress';
import { UpstreamCallJournal } from '../../../ledger/upstream-calls';
import { startEgress, type RunningEgress } from '../../../workers/egress/server';
import {
  CALL_MODEL as MODEL,
  expectBookedOnce,
  prepareAttempt,
  workerActivities as workerOf,
} from '../../support/call-step';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';

const TOKEN = 'test-egress-token';

describe('the egress journals every completion call', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let egress: RunningEgress;
  let journal: UpstreamCallJournal;
  let gatewayKeyId: string;

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env);
    journal = new UpstreamCallJournal(stack.ledger.sql);
    egress = await startEgress({
      journal,
      upstreamBaseUrl: stack.emulator.url,
      token: TOKEN,
      identity: 'egress@test',
      callTimeoutMs: 10_000,
    });
    gatewayKeyId = (await stack.issue('alpha')).id;
  });
  afterAll(async () => {
    await egress?.close();
    await stack?.close();
    await env?.teardown();
  });

  const secrets = () => new Map(Object.entries(stack.emulator.addedKeys));

  /** A worker's completion activities, with its calls through `egressUrl` (or straight to the emulator). */
  const workerActivities = (identity: string, egressUrl: string | null = egress.url) =>
    workerOf(stack, identity, {
      timeoutMs: 10_000,
      ...(egressUrl ? { egress: { url: () => egressUrl, token: TOKEN } } : {}),
    });
  const attempt = (activities: CompletionActivities) =>
    prepareAttempt(activities, gatewayKeyId, { label: 'Journal me', admit: false });

  /** What a worker sends for `input` before it dies: the request reaches the egress, the worker is gone. */
  function sendAndVanish(input: CallInput, headers: Record<string, string> = {}): Promise<void> {
    const body = JSON.stringify({ ...input.request, max_completion_tokens: input.maxCompletionTokens });
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${egress.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${secrets().get(input.upstreamKey)}`,
          [EGRESS_HEADERS.token]: TOKEN,
          [EGRESS_HEADERS.attempt]: input.reservationId,
          [EGRESS_HEADERS.keyVersion]: '0',
          ...headers,
        },
      });
      req.on('error', () => undefined);
      req.end(body, () => {
        // the worker dies once its request is out: its connection goes with it
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50);
      });
      req.on('response', () => reject(new Error('the answer came before the worker died')));
    });
  }

  const bookedOnce = (input: CallInput, upstreamRequestId: string | null) =>
    expectBookedOnce(stack, input, upstreamRequestId);

  it('passes a call through with groq-sdk, books it at the billed cost and journals its answer', async () => {
    const activities = workerActivities('egress-worker-a');
    const input = await attempt(activities);
    const result = await activities.callGroq(input);
    expect(result.kind).toBe('success');
    if (result.kind !== 'success') return;
    expect(result.upstreamRequestId).toMatch(/^req_/);
    expect((result.completion as { object?: string }).object).toBe('chat.completion');
    await bookedOnce(input, result.upstreamRequestId);
    expect(await stack.ledger.callClaimedBy(input.reservationId)).toBe(
      `egress-worker-a${EGRESS_CLAIM_SUFFIX}`,
    );
    const row = await journal.get(input.reservationId);
    expect(row).toMatchObject({ state: 'answered', egress: 'egress@test' });
    expect(JSON.parse(row!.answer!.body)).toEqual(result.completion);
    // a second run of the attempt in another process gets the same answer, charged once, Groq not called
    const billed = stack.emulator.billedCalls().length;
    expect(await workerActivities('egress-worker-a2').callGroq(structuredClone(input))).toEqual(result);
    expect(stack.emulator.billedCalls().length).toBe(billed);
    await bookedOnce(input, result.upstreamRequestId);
    // Groq's headers come through the egress unchanged (request id, rate limits)
    const raw = await fetch(`${egress.url}/openai/v1/models`, {
      headers: { authorization: `Bearer ${secrets().get(input.upstreamKey)}`, [EGRESS_HEADERS.token]: TOKEN },
    });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('x-request-id')).toMatch(/^req_/);
    expect(((await raw.json()) as { object?: string }).object).toBe('list');
  });

  it('books the answer of a call whose worker died mid-call from the journal, without calling again', async () => {
    const dead = workerActivities('egress-worker-dead');
    const input = await attempt(dead);
    await stack.ledger.claimCall(input.reservationId, `egress-worker-dead${EGRESS_CLAIM_SUFFIX}`);
    const billed = stack.emulator.billedCalls().length;
    stack.emulator.setLatency({ latencyMs: 400 });
    try {
      await sendAndVanish(input);
    } finally {
      stack.emulator.setLatency({ latencyMs: 0 });
    }
    // the attempt's next run, on another worker: it waits for the egress's answer and books it
    const next = workerActivities('egress-worker-next');
    const result = await next.callGroq(structuredClone(input));
    expect(result.kind).toBe('success');
    if (result.kind !== 'success') return;
    expect(stack.emulator.billedCalls().length).toBe(billed + 1);
    await bookedOnce(input, result.upstreamRequestId);
    expect((result.completion as { usage?: { completion_tokens?: number } }).usage?.completion_tokens).toBe(
      12,
    );
  });

  it('sweeps the rows of settled attempts, never those of held ones', async () => {
    const activities = workerActivities('egress-worker-sweep');
    const settled = await attempt(activities);
    expect((await activities.callGroq(settled)).kind).toBe('success');
    const held = await attempt(activities);
    await stack.ledger.claimCall(held.reservationId, `egress-worker-sweep${EGRESS_CLAIM_SUFFIX}`);
    await journal.begin({
      reservationId: held.reservationId,
      egress: 'egress@test',
      keyVersion: 0,
      leaseMs: 0,
    });
    await stack.ledger.sql.query(`UPDATE upstream_calls SET updated_at = now() - interval '1 hour'`);
    expect(await journal.sweep(15 * 60_000)).toBeGreaterThanOrEqual(1);
    expect(await journal.get(settled.reservationId)).toBeNull();
    expect((await journal.get(held.reservationId))?.state).toBe('sending');
  });

  it('fences a call the egress never began: never sent, its hold returned, a late request refused', async () => {
    const dead = workerActivities('egress-worker-lost');
    const input = await attempt(dead);
    await stack.ledger.claimCall(input.reservationId, `egress-worker-lost${EGRESS_CLAIM_SUFFIX}`);
    const billed = stack.emulator.billedCalls().length;
    const next = workerActivities('egress-worker-after');
    expect(await next.callGroq(structuredClone(input))).toEqual({ kind: 'unknown' });
    expect((await stack.ledger.getReservation(input.reservationId))?.state).toBe('released');
    expect((await journal.get(input.reservationId))?.state).toBe('fenced');
    // the dead worker's request arrives after all: the egress refuses to send it
    const body = JSON.stringify({ ...input.request, max_completion_tokens: 20 });
    const answer = await fetch(`${egress.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${secrets().get(input.upstreamKey)}`,
        [EGRESS_HEADERS.token]: TOKEN,
        [EGRESS_HEADERS.attempt]: input.reservationId,
      },
      body,
    });
    expect(answer.status).toBe(409);
    expect(answer.headers.get(EGRESS_HEADERS.error)).toBe('fenced');
    expect(stack.emulator.billedCalls().length).toBe(billed);
  });

  it('keeps a call without an answer charged as unknown', async () => {
    // an egress whose upstream does not answer at all
    const broken = await startEgress({
      journal,
      upstreamBaseUrl: 'http://127.0.0.1:9',
      token: TOKEN,
      identity: 'egress@broken',
      callTimeoutMs: 2_000,
    });
    try {
      const activities = workerActivities('egress-worker-broken', broken.url);
      const input = await attempt(activities);
      const result = await activities.callGroq(input);
      expect(result).toMatchObject({ kind: 'upstream_error', status: 502, retryable: true });
      expect((await stack.ledger.getReservation(input.reservationId))?.state).toBe('unknown');
      expect((await journal.get(input.reservationId))?.state).toBe('failed');
      const rows = (await stack.ledger.listUsage({ period: input.period, limit: 10_000 })).filter(
        (row) => row.requestId === input.requestId,
      );
      expect(rows.map((row) => row.outcome)).toEqual(['unknown']);
    } finally {
      await broken.close();
    }
  });

  it('holds as unknown a call whose egress died too (its lease ran out without an answer)', async () => {
    const dead = workerActivities('egress-worker-gone');
    const input = await attempt(dead);
    await stack.ledger.claimCall(input.reservationId, `egress-worker-gone${EGRESS_CLAIM_SUFFIX}`);
    expect(
      await journal.begin({
        reservationId: input.reservationId,
        egress: 'egress@gone',
        keyVersion: 0,
        leaseMs: 0,
      }),
    ).toBe(true);
    const next = workerActivities('egress-worker-survivor');
    expect(await next.callGroq(structuredClone(input))).toEqual({ kind: 'unknown' });
    expect((await stack.ledger.getReservation(input.reservationId))?.state).toBe('unknown');
    expect((await journal.get(input.reservationId))?.state).toBe('abandoned');
    // an answer arriving now no longer counts: the attempt is settled as unknown
    expect(await journal.answer(input.reservationId, { status: 200, headers: {}, body: '{}' })).toBe(false);
  });

  it('refuses requests without its token and sends nothing', async () => {
    const billed = stack.emulator.billedCalls().length;
    const answer = await fetch(`${egress.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${[...secrets().values()][0]}` },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(answer.status).toBe(403);
    expect(answer.headers.get(EGRESS_HEADERS.error)).toBe('bad-token');
    expect(stack.emulator.billedCalls().length).toBe(billed);
  });
});
