/**
 * A chunk of a realtime batch's items through the governed path together: the ledger work of the whole
 * chunk in a handful of statements instead of some twenty per item. Phase by phase, each one statement
 * or one transaction for the chunk:
 *
 *  1. open: the items, their first attempt counted, with the state of each current attempt's reservation;
 *  2. reserve: every item's worst case held in order against the team's budget and the org's cap
 *     (`reserveMany`: what fits is held, an item that does not fit is refused and fails with 402);
 *  3. admit: the items at the batch share of the rate limits, in order (`tryAcquireMany`: the first one
 *     that has to wait makes it and the rest wait, their holds kept for their next run);
 *  4. claim: the admitted items' calls claimed (`claimCalls`); then every call is made at once;
 *  5. book: every completion settled at its exact cost with its usage row, the leases ended and every
 *     item's result stored (`bookCompletionsIn`, `finishItemsIn`), in one transaction.
 *
 * Each item keeps its own request id (`batch:<batch id>:<custom_id>`), attempt reservation (`#<attempt>`),
 * lease, usage row, exact cost and key version, as on its own. Every phase is idempotent per item, so a
 * chunk run again after a crash continues each item where it got to. An item that is anywhere else than
 * on this happy path (its current attempt's call was claimed by a run that died, Groq answered an error,
 * no answer came) takes the one-item path (`runItem`), which recovers it from the egress journal or
 * holds it as unknown exactly as before.
 */
import { refusalBody } from '../../domain/api-errors';
import type { ChatRequest } from '../../domain/chat-request';
import { EGRESS_CLAIM_SUFFIX } from '../../domain/egress';
import { worstCaseCost } from '../../domain/pricing';
import { promptTokenBound, promptTokenEstimate } from '../../domain/prompt-tokens';
import { periodOf } from '../../ledger';
import { finishItemsIn, openItems, type OpenedItem } from '../../ledger/batch-chunk-items';
import { BatchStore, type ItemOutcome } from '../../ledger/batches';
import { claimCalls } from '../../ledger/call-claims';
import { tryAcquireMany } from '../../ledger/chunk-admission';
import { bookCompletionsIn, type ChunkBookingItem } from '../../ledger/chunk-booking';
import { reserveMany } from '../../ledger/chunk-reserve';
import { budgetRefusalMessage, COMPLETION_BUDGET_ADVICE, reservationIdFor } from '../completion/budget';
import { capacityBuckets, LEASE_TTL_MS } from '../completion/capacity';
import type { CompletionDeps } from '../completion/deps';
import type { AttemptRef, CallInput, CallResult } from '../completion/types';
import { bookAnswer, sendClaimedCall, successOf } from '../completion/upstream-call';
import { batchRequestId, ITEM_MAX_ATTEMPTS, itemAfterCall } from './run-item';
import type { ChunkInput, ItemInput, ItemResult } from './types';

/** An item on the chunk's path, with what its call needs. */
interface Planned {
  seq: number;
  item: OpenedItem;
  request: ChatRequest;
  maxCompletionTokens: number;
  ref: AttemptRef;
  amount: bigint;
  tokens: number;
}

function done(outcome: ItemOutcome): ItemResult {
  const state = outcome.state === 'succeeded' ? 'succeeded' : 'failed';
  return { kind: 'done', state, costNanos: outcome.costNanos.toString(), fresh: true };
}

function answered(item: { state: string; costNanos: bigint }): ItemResult {
  return {
    kind: 'done',
    state: item.state === 'succeeded' ? 'succeeded' : 'failed',
    costNanos: item.costNanos.toString(),
    fresh: false,
  };
}

/** Whether an item continues on the chunk's path: a fresh attempt, or one whose hold waits unclaimed. */
function onChunkPath(item: OpenedItem, maxAttempts: number): boolean {
  if (item.state !== 'pending' || item.attempts < 1 || item.attempts > maxAttempts) return false;
  if (item.started || item.reservation === null) return true;
  return item.reservation.state === 'held' && !item.reservation.claimed;
}

/**
 * Run a chunk. `runOne` is the one-item path for the items that leave the chunk's path; `running` holds
 * the items this process runs now (an item already running here is waited for, not run twice).
 */
export async function runChunkTogether(
  deps: CompletionDeps,
  runOne: (input: ItemInput) => Promise<ItemResult>,
  running: Map<string, Promise<ItemResult>>,
  input: ChunkInput,
): Promise<ItemResult[]> {
  const { seqs, ...common } = input;
  const keyOf = (seq: number) => `${input.batchId}:${seq}`;
  const results = new Map<number, Promise<ItemResult>>();
  const mine = new Map<number, { resolve: (r: ItemResult) => void; reject: (e: unknown) => void }>();
  for (const seq of seqs) {
    const known = running.get(keyOf(seq));
    if (known) {
      results.set(seq, known);
      continue;
    }
    const promise = new Promise<ItemResult>((resolve, reject) => mine.set(seq, { resolve, reject }));
    promise.catch(() => undefined);
    void promise.finally(() => running.delete(keyOf(seq))).catch(() => undefined);
    running.set(keyOf(seq), promise);
    results.set(seq, promise);
  }
  try {
    const own = await runOwn(deps, runOne, common, [...mine.keys()]);
    for (const [seq, result] of own) mine.get(seq)!.resolve(result);
  } catch (error) {
    for (const deferred of mine.values()) deferred.reject(error);
  }
  const settled = await Promise.allSettled(seqs.map((seq) => results.get(seq)!));
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<ItemResult>).value);
}

async function runOwn(
  deps: CompletionDeps,
  runOne: (input: ItemInput) => Promise<ItemResult>,
  common: Omit<ChunkInput, 'seqs'>,
  seqs: number[],
): Promise<Map<number, ItemResult>> {
  const out = new Map<number, Promise<ItemResult>>();
  if (seqs.length === 0) return new Map();
  const sql = deps.ledger.sql;
  const config = deps.config();
  const team = config.teams.get(common.team);
  if (!team) throw new Error(`team ${common.team} vanished from the configuration`);
  const maxAttempts = common.maxAttempts ?? ITEM_MAX_ATTEMPTS;
  const now = () => deps.now();
  const period = periodOf(new Date(now()), config.org.timezone);
  const one = (seq: number) => runOne({ ...common, seq });

  // 1. open
  const opened = await openItems(sql, common.batchId, seqs);
  const planned: Planned[] = [];
  for (const item of opened) {
    if (item.state !== 'pending') out.set(item.seq, Promise.resolve(answered(item)));
    else if (!onChunkPath(item, maxAttempts)) out.set(item.seq, one(item.seq));
    else {
      const request = item.body as unknown as ChatRequest;
      const maxCompletionTokens =
        request.max_completion_tokens ?? request.max_tokens ?? team.maxTokensPerRequest;
      const requestId = batchRequestId(common.batchId, item.customId);
      const reservationId = reservationIdFor(requestId, item.attempts);
      planned.push({
        seq: item.seq,
        item,
        request,
        maxCompletionTokens,
        amount: worstCaseCost(
          config.pricing,
          request.model,
          promptTokenBound(request.messages, request.tools),
          maxCompletionTokens,
          { batch: false },
        ),
        tokens: promptTokenEstimate(request.messages, request.tools) + maxCompletionTokens,
        ref: {
          requestId,
          attempt: item.attempts,
          reservationId,
          leaseId: reservationId,
          team: team.name,
          // a resumed attempt keeps the period its reservation was made in
          period: item.reservation?.period ?? period,
          model: request.model,
          upstreamKey: common.upstreamKey,
          gatewayKeyId: common.gatewayKeyId,
          batch: false,
        },
      });
    }
  }
  for (const seq of seqs) if (!out.has(seq) && !planned.some((p) => p.seq === seq)) out.set(seq, one(seq));

  const finishes: { seq: number; outcome: ItemOutcome }[] = [];
  const bookings = new Map<string, ChunkBookingItem[]>();
  const direct = new Map<number, ItemResult>();
  if (planned.length > 0) {
    // 2. reserve
    const reserved = await reserveMany(sql, {
      team: team.name,
      period,
      teamLimit: team.monthlyBudgetNanos,
      orgLimit: config.org.monthlyCapNanos,
      items: planned.map((p) => ({
        reservationId: p.ref.reservationId,
        requestId: p.ref.requestId,
        amount: p.amount,
      })),
      at: new Date(now()),
    });
    const held: Planned[] = [];
    planned.forEach((p, n) => {
      const outcome = reserved[n]!;
      if (outcome.ok && outcome.reservation.state === 'held') {
        p.ref.period = outcome.reservation.period;
        held.push(p);
      } else if (!outcome.ok) {
        const message = budgetRefusalMessage(p.ref, p.amount, outcome, { advice: COMPLETION_BUDGET_ADVICE });
        finishes.push({
          seq: p.seq,
          outcome: {
            state: 'failed',
            statusCode: 402,
            upstreamRequestId: null,
            response: refusalBody({ code: 'budget_exceeded', message }) as unknown as Record<string, unknown>,
            error: null,
            costNanos: 0n,
          },
        });
      } else out.set(p.seq, one(p.seq)); // moved on meanwhile (another run): the one-item path knows how
    });

    // 3. admit, per model (the buckets differ by model)
    const admitted: Planned[] = [];
    for (const model of new Set(held.map((p) => p.ref.model))) {
      const group = held.filter((p) => p.ref.model === model);
      const admissions = await tryAcquireMany(sql, {
        buckets: capacityBuckets(config, team.name, model, false),
        requests: group.map((p) => ({ leaseId: p.ref.leaseId, tokens: p.tokens })),
        now: now(),
        leaseTtlMs: LEASE_TTL_MS,
      });
      for (const [n, admission] of admissions.entries()) {
        const p = group[n]!;
        if (admission.admitted) {
          admitted.push(p);
          continue;
        }
        const next = itemAfterCall(
          { kind: 'not_admitted', retryAfterMs: admission.retryAfterMs },
          p.ref.attempt,
          maxAttempts,
          team.name,
          model,
        );
        if (next.kind === 'wait') direct.set(p.seq, next);
        else {
          await deps.ledger.release(p.ref.reservationId);
          finishes.push({ seq: p.seq, outcome: next.outcome });
        }
      }
    }

    // 4. claim and call
    if (admitted.length > 0) {
      const target = await deps.groq.callClientFor(common.upstreamKey);
      const claimed = await claimCalls(
        sql,
        admitted.map((p) => p.ref.reservationId),
        target.viaEgress ? `${deps.identity}${EGRESS_CLAIM_SUFFIX}` : deps.identity,
      );
      await Promise.all(
        admitted.map(async (p) => {
          if (!claimed.has(p.ref.reservationId)) {
            out.set(p.seq, one(p.seq)); // claimed by another run: the one-item path recovers it
            return;
          }
          const call: CallInput = {
            ...p.ref,
            request: p.request,
            maxCompletionTokens: p.maxCompletionTokens,
          };
          const sent = await sendClaimedCall(deps, call, target);
          let result: CallResult;
          if (sent.kind === 'answer' && sent.answer.status >= 200 && sent.answer.status < 300) {
            const success = successOf(deps, p.ref, target.version, sent.answer, sent.startedAt, now());
            const list = bookings.get(p.ref.model) ?? [];
            list.push({
              reservationId: p.ref.reservationId,
              cost: success.cost,
              usage: success.usage,
              leaseId: p.ref.leaseId,
              actualTokens: success.actualTokens,
              headers: sent.answer.headers,
            });
            bookings.set(p.ref.model, list);
            result = success.result;
          } else if (sent.kind === 'answer') {
            result = await bookAnswer(deps, p.ref, target.version, sent.answer, sent.startedAt);
          } else result = sent.result;
          const next = itemAfterCall(result, p.ref.attempt, maxAttempts, team.name, p.ref.model);
          if (next.kind === 'wait') direct.set(p.seq, next);
          else {
            if (next.release) await deps.ledger.release(p.ref.reservationId);
            finishes.push({ seq: p.seq, outcome: next.outcome });
          }
        }),
      );
    }
  }

  // 5. book and store the results, in one transaction
  let finished = new Set<number>();
  if (finishes.length > 0 || bookings.size > 0) {
    finished = await sql.transaction(async (tx) => {
      for (const [model, items] of bookings) await bookCompletionsIn(tx, { model, items, now: now() });
      return finishItemsIn(tx, common.batchId, finishes, new Date(now()));
    });
  }
  const store = new BatchStore(sql);
  for (const { seq, outcome } of finishes) {
    // finished before by another run: its result stands
    const result = finished.has(seq)
      ? Promise.resolve(done(outcome))
      : store
          .getItem(common.batchId, seq)
          .then((after) => answered(after ?? { state: 'failed', costNanos: 0n }));
    out.set(seq, result);
  }
  for (const [seq, result] of direct) out.set(seq, Promise.resolve(result));
  const final = new Map<number, ItemResult>();
  const settled = await Promise.allSettled(seqs.map(async (seq) => [seq, await out.get(seq)!] as const));
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  for (const outcome of settled) {
    const [seq, result] = (outcome as PromiseFulfilledResult<readonly [number, ItemResult]>).value;
    final.set(seq, result);
  }
  return final;
}
