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
import { groupCommit } from '../../domain/group-commit';
import { worstCaseCost } from '../../domain/pricing';
import { promptTokenBound, promptTokenEstimate } from '../../domain/prompt-tokens';
import { periodOf } from '../../ledger';
import { claimItemCalls, finishItemsIn, openItems, type OpenedItem } from '../../ledger/batch-chunk-items';
import { BatchStore, type ItemOutcome } from '../../ledger/batches';
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

/** How long an item the stopping batch did not start waits before the workflow looks again. */
const STOPPING_WAIT_MS = 200;
/**
 * How long a finished item's booking may wait for the chunk's other calls to finish too, so that they are
 * booked in one transaction (a chunk's results go back together at its end anyway; its last booking
 * never waits). An item's lease ends with its booking, so under a concurrency limit at most a quarter of
 * the limit waits so.
 */
export const FINISH_LINGER_MS = 200;

/** An item's result to store, with the booking of its completion when it has one. */
interface Finish {
  seq: number;
  outcome: ItemOutcome;
  model: string;
  booking?: ChunkBookingItem;
}

/** At most `size` holders at once; `take` waits for a free slot and gives its release. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    return () => {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

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
  try {
    return await runPhases(deps, runOne, common, seqs, out);
  } catch (error) {
    // nothing of the chunk keeps running here when it fails: its retry starts from the ledger
    await Promise.allSettled(out.values());
    throw error;
  }
}

async function runPhases(
  deps: CompletionDeps,
  runOne: (input: ItemInput) => Promise<ItemResult>,
  common: Omit<ChunkInput, 'seqs'>,
  seqs: number[],
  results: Map<number, Promise<ItemResult>>,
): Promise<Map<number, ItemResult>> {
  // every result is awaited at the end; until then a failure is kept, not reported as unhandled
  const out = {
    set(seq: number, result: Promise<ItemResult>) {
      result.catch(() => undefined);
      results.set(seq, result);
    },
    has: (seq: number) => results.has(seq),
  };
  const sql = deps.ledger.sql;
  const config = deps.config();
  const team = config.teams.get(common.team);
  if (!team) throw new Error(`team ${common.team} vanished from the configuration`);
  const maxAttempts = common.maxAttempts ?? ITEM_MAX_ATTEMPTS;
  const now = () => deps.now();
  const period = periodOf(new Date(now()), config.org.timezone);
  // the chunk's calls in flight at once, the one-item path's included
  const slots = new Slots(Math.max(1, common.concurrency ?? seqs.length));
  const alone = (seq: number) => runOne({ ...common, seq });
  const one = async (seq: number): Promise<ItemResult> => {
    const release = await slots.take();
    try {
      return await alone(seq);
    } finally {
      release();
    }
  };

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

  // the results stored, and the completions booked with them, a group at a time (see groupCommit): a
  // group waits a little for the calls still out, unless every one of them is in it
  const store = new BatchStore(sql);
  let callsOut = 0;
  // under a concurrency limit a waiting booking keeps its lease: at most a quarter of the limit waits
  const concurrencyLimit = Math.min(
    ...[...new Set(planned.map((p) => p.ref.model))].flatMap((model) =>
      capacityBuckets(config, team.name, model, false).map(
        (bucket) => bucket.limits.concurrency ?? Number.POSITIVE_INFINITY,
      ),
    ),
  );
  const lingerCap = Math.floor(concurrencyLimit / 4);
  const finishOne = groupCommit(
    async (entries: Finish[]): Promise<boolean[]> => {
      const finished = await sql.transaction(async (tx) => {
        // the item rows first: only this chunk writes them, so the budget and bucket locks that follow
        // are held one statement less
        const stored = await finishItemsIn(tx, common.batchId, entries, new Date(now()));
        for (const model of new Set(entries.flatMap((entry) => (entry.booking ? [entry.model] : [])))) {
          const items = entries.flatMap((entry) =>
            entry.booking && entry.model === model ? [entry.booking] : [],
          );
          await bookCompletionsIn(tx, { model, items, now: now() });
        }
        return stored;
      });
      return entries.map((entry) => finished.has(entry.seq));
    },
    {
      lingerMs: lingerCap > 1 ? FINISH_LINGER_MS : 0,
      ready: (queued) => queued >= callsOut || queued >= lingerCap,
    },
  );
  const finish = async (entry: Finish): Promise<ItemResult> => {
    if (await finishOne(entry)) return done(entry.outcome);
    // finished before by another run: its result stands
    const after = await store.getItem(common.batchId, entry.seq);
    return answered(after ?? { state: 'failed', costNanos: 0n });
  };

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
        const outcomeOf: ItemOutcome = {
          state: 'failed',
          statusCode: 402,
          upstreamRequestId: null,
          response: refusalBody({ code: 'budget_exceeded', message }) as unknown as Record<string, unknown>,
          error: null,
          costNanos: 0n,
        };
        out.set(p.seq, finish({ seq: p.seq, outcome: outcomeOf, model: p.ref.model }));
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
        if (next.kind === 'wait') out.set(p.seq, Promise.resolve(next));
        else {
          await deps.ledger.release(p.ref.reservationId);
          out.set(p.seq, finish({ seq: p.seq, outcome: next.outcome, model }));
        }
      }
    }

    // 4. the calls, at most `concurrency` at once, each claimed just before it is made (claims go
    // together, a group at a time); a completion is booked with its result, the slot freed at once
    if (admitted.length > 0) {
      const target = await deps.groq.callClientFor(common.upstreamKey);
      const claimer = target.viaEgress ? `${deps.identity}${EGRESS_CLAIM_SUFFIX}` : deps.identity;
      // claims go a wave (the calls in flight at once) at a time, the next wave's while this one's
      // calls start, so a call never waits for its claim and at most two waves are claimed unsent
      const waveSize = Math.max(1, common.concurrency ?? admitted.length);
      const waves = new Map<number, Promise<{ claimed: Set<string>; stopping: boolean }>>();
      const claimWave = (wave: number) => {
        let claimed = waves.get(wave);
        if (!claimed) {
          const ids = admitted.slice(wave * waveSize, (wave + 1) * waveSize).map((p) => p.ref.reservationId);
          claimed = claimItemCalls(sql, common.batchId, ids, claimer);
          claimed.catch(() => undefined);
          waves.set(wave, claimed);
        }
        return claimed;
      };
      const claim = async (index: number) => {
        const wave = Math.floor(index / waveSize);
        if ((wave + 1) * waveSize < admitted.length) void claimWave(wave + 1);
        const { claimed, stopping } = await claimWave(wave);
        const id = admitted[index]!.ref.reservationId;
        return stopping ? 'stopping' : claimed.has(id) ? 'claimed' : 'taken';
      };
      const callOne = async (p: Planned, index: number): Promise<ItemResult> => {
        const release = await slots.take();
        let freed = false;
        const free = () => {
          if (!freed) release();
          freed = true;
        };
        try {
          const claimed = await claim(index);
          // the batch is stopping (cancelled, paused, expired): the item waits, its hold kept until the end
          if (claimed === 'stopping') return { kind: 'wait', afterMs: STOPPING_WAIT_MS };
          // claimed by another run: the one-item path recovers it
          if (claimed === 'taken') return await alone(p.seq);
          const call: CallInput = {
            ...p.ref,
            request: p.request,
            maxCompletionTokens: p.maxCompletionTokens,
          };
          const sent = await sendClaimedCall(deps, call, target);
          if (sent.kind === 'answer' && sent.answer.status >= 200 && sent.answer.status < 300) {
            free();
            const success = successOf(deps, p.ref, target.version, sent.answer, sent.startedAt, now());
            const next = itemAfterCall(success.result, p.ref.attempt, maxAttempts, team.name, p.ref.model);
            if (next.kind !== 'finish') throw new Error('a completion finishes its item');
            return await finish({
              seq: p.seq,
              outcome: next.outcome,
              model: p.ref.model,
              booking: {
                reservationId: p.ref.reservationId,
                cost: success.cost,
                usage: success.usage,
                leaseId: p.ref.leaseId,
                actualTokens: success.actualTokens,
                headers: sent.answer.headers,
              },
            });
          }
          const result: CallResult =
            sent.kind === 'answer'
              ? await bookAnswer(deps, p.ref, target.version, sent.answer, sent.startedAt)
              : sent.result;
          free();
          const next = itemAfterCall(result, p.ref.attempt, maxAttempts, team.name, p.ref.model);
          if (next.kind === 'wait') return next;
          if (next.release) await deps.ledger.release(p.ref.reservationId);
          return await finish({ seq: p.seq, outcome: next.outcome, model: p.ref.model });
        } finally {
          free();
          callsOut--;
          finishOne.recheck();
        }
      };
      callsOut = admitted.length;
      admitted.forEach((p, index) => out.set(p.seq, callOne(p, index)));
    }
  }

  const final = new Map<number, ItemResult>();
  const settled = await Promise.allSettled(seqs.map(async (seq) => [seq, await results.get(seq)!] as const));
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  for (const outcome of settled) {
    const [seq, result] = (outcome as PromiseFulfilledResult<readonly [number, ItemResult]>).value;
    final.set(seq, result);
  }
  return final;
}
