/**
 * How a realtime batch run is sized, from the limits it runs under, the upstream latency and the history
 * budget of a workflow run:
 *
 * - the rate the limits allow the batch: the batch share of every RPM (per second) and TPM (per second,
 *   over the tokens an item is counted for) of the team and the model; a concurrency limit caps the
 *   calls in flight;
 * - the window (upstream calls in flight at once): enough to reach that rate at the latency, with half
 *   again as much headroom (rate x latency x 1.5), at least MIN_WINDOW and at most MAX_WINDOW, so that a
 *   batch under raised limits runs MAX_WINDOW calls at once and one under tight limits sits at them;
 * - the window is split over a few chunk activities in flight at once (each with its share of the calls
 *   in flight), so one chunk's round trip through Temporal and its ledger work overlap the others' calls;
 * - a chunk is ROUNDS calls per slot when the window binds (long chunks amortize their fixed cost); when
 *   the rate limits bind, fewer, but the chunks in flight hold at least LIMIT_LOOKAHEAD_MS of the limits'
 *   rate, so that items wait for room in numbers and every slot the limits free finds one;
 * - the items per run keep a run's history within HISTORY_BUDGET events: about 6 events per chunk, plus
 *   about 4 per wait on a durable timer when the limits bind.
 * A window or items per run the user configured (`gateway.batchWindow`, `gateway.batchItemsPerRun`) wins.
 */
export interface SizingLimits {
  /** per bucket (team, model), already at the batch share */
  buckets: { rpm?: number; tpm?: number; concurrency?: number }[];
  /** tokens admission counts for one item (prompt estimate + completion allowance) */
  tokensPerItem: number;
  /** the upstream latency of one call, measured or assumed */
  latencyMs: number;
}

export interface BatchSizing {
  /** upstream calls in flight at once (the ceiling is window / latency, or the limits' rate) */
  window: number;
  /** chunk activities in flight at once */
  chunksInFlight: number;
  /** calls one chunk has in flight at once */
  concurrency: number;
  /** items per chunk */
  chunkSize: number;
  /** items a run starts before it continues as new */
  itemsPerRun: number;
  /** item numbers read per page */
  page: number;
  /** the rate (items/s) the limits allow the batch, Infinity when none binds */
  limitRate: number;
  /** whether the limits bind before the window does */
  limitBound: boolean;
}

export const MIN_WINDOW = 4;
export const MAX_WINDOW = 32;
const HEADROOM = 1.5;
const MAX_CHUNKS_IN_FLIGHT = 4;
const ROUNDS = 16;
const LIMIT_BOUND_ROUNDS = 4;
/** when the limits bind, a run keeps this long of the limits' rate in flight (waiting for room) */
const LIMIT_LOOKAHEAD_MS = 5000;
export const HISTORY_BUDGET = 2000;
const EVENTS_PER_CHUNK = 6;
const EVENTS_PER_WAIT = 4;
const MIN_ITEMS_PER_RUN = 100;
const MAX_ITEMS_PER_RUN = 10_000;
const MAX_PAGE = 1000;

/** The rate (items/s) the limits allow, Infinity when none is set. */
export function limitRateOf(limits: SizingLimits): number {
  let rate = Number.POSITIVE_INFINITY;
  for (const bucket of limits.buckets) {
    if (bucket.rpm !== undefined) rate = Math.min(rate, bucket.rpm / 60);
    if (bucket.tpm !== undefined) rate = Math.min(rate, bucket.tpm / 60 / Math.max(1, limits.tokensPerItem));
  }
  return rate;
}

export function sizeBatchRun(
  limits: SizingLimits,
  overrides: { window?: number; itemsPerRun?: number } = {},
): BatchSizing {
  const limitRate = limitRateOf(limits);
  const concurrencyCap = Math.min(
    ...limits.buckets.map((bucket) => bucket.concurrency ?? Number.POSITIVE_INFINITY),
  );
  const wanted = Math.ceil(limitRate * (limits.latencyMs / 1000) * HEADROOM);
  let window =
    overrides.window ??
    Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, Number.isFinite(wanted) ? wanted : MAX_WINDOW));
  window = Math.max(1, Math.min(window, concurrencyCap));
  const limitBound = limitRate < window / (Math.max(1, limits.latencyMs) / 1000);
  const chunksInFlight = Math.max(1, Math.min(MAX_CHUNKS_IN_FLIGHT, Math.floor(window / MIN_WINDOW)));
  const concurrency = Math.ceil(window / chunksInFlight);
  // when the limits bind, enough items wait for room that every slot the limits free finds one, even
  // when a chunk's round trip takes a while
  const lookahead = limitBound ? Math.ceil((limitRate * LIMIT_LOOKAHEAD_MS) / 1000 / chunksInFlight) : 0;
  const chunkSize = Math.max(concurrency * (limitBound ? LIMIT_BOUND_ROUNDS : ROUNDS), lookahead);
  const eventsPerItem = EVENTS_PER_CHUNK / chunkSize + (limitBound ? EVENTS_PER_WAIT : 0.05);
  const itemsPerRun =
    overrides.itemsPerRun ??
    Math.max(MIN_ITEMS_PER_RUN, Math.min(MAX_ITEMS_PER_RUN, Math.floor(HISTORY_BUDGET / eventsPerItem)));
  return {
    window,
    chunksInFlight,
    concurrency,
    chunkSize,
    itemsPerRun,
    page: Math.min(MAX_PAGE, itemsPerRun),
    limitRate,
    limitBound,
  };
}
