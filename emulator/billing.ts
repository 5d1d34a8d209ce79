/**
 * What the emulator has billed: every billed call, and totals per key name and model with the batch /
 * realtime split. Costs come from `costOf` (domain/pricing.ts) and are summed as bigint nanos, so the
 * report is exact to the unit. Only successful work is billed: a completed response, a completed or cut
 * stream (for what it generated), a successful batch line. Errors (4xx, 5xx, faults) never are.
 */
import {
  audioCost,
  billedAudioSeconds,
  speechCost,
  audioPriceOf,
  speechPriceOf,
} from '../domain/modality-pricing';
import { usdToNanos } from '../domain/money';
import {
  costOf,
  createPriceBook,
  type AudioPrice,
  type PriceBook,
  type SpeechPrice,
} from '../domain/pricing';
import type { ModelSpec } from './config';

export interface BillableUsage {
  requestId: string;
  keyName: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  batch: boolean;
  stream: boolean;
  /** a stream the server (fault) or the client cut short */
  cut: boolean;
  batchId?: string;
  customId?: string;
  /** the endpoint when it is not chat completions, e.g. "responses" */
  endpoint?: string;
}

/** A speech-to-text or text-to-speech call: billed per audio second or per character. */
export interface BillableUnits {
  requestId: string;
  keyName: string;
  model: string;
  /** "audio.transcriptions", "audio.translations" or "audio.speech" */
  endpoint: string;
  /** speech to text: the audio's duration in seconds (fractional) */
  durationSeconds?: number;
  /** text to speech: the input's characters */
  characters?: number;
}

export interface BilledCall {
  request_id: string;
  key_name: string;
  model: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  total_tokens: number;
  /** integer nano-dollars, as a decimal string */
  cost_nanos: string;
  batch: boolean;
  stream: boolean;
  cut: boolean;
  /** emulator clock, ms since epoch */
  at: number;
  batch_id?: string;
  custom_id?: string;
  /** absent for chat completions */
  endpoint?: string;
  /** absent for token-billed calls */
  unit?: 'audio_seconds' | 'characters';
  /** the billed audio seconds (minimum applied) or characters */
  quantity?: number;
}

export interface BillingCounters {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost_nanos: string;
}

export interface BillingLine extends BillingCounters {
  realtime: BillingCounters;
  batch: BillingCounters;
}

export interface BillingReport {
  org_id: string;
  currency: 'USD';
  /** cost_nanos are integer nano-dollars (1e-9 USD) */
  unit: 'nanos';
  totals: BillingLine;
  models: Record<string, BillingLine>;
  keys: Record<string, { totals: BillingLine; models: Record<string, BillingLine> }>;
}

interface Sums {
  requests: number;
  prompt: number;
  completion: number;
  cached: number;
  cost: bigint;
}

const zero = (): Sums => ({ requests: 0, prompt: 0, completion: 0, cached: 0, cost: 0n });

interface Cell {
  realtime: Sums;
  batch: Sums;
}

function add(target: Sums, call: BillableUsage, cost: bigint): void {
  target.requests++;
  target.prompt += call.promptTokens;
  target.completion += call.completionTokens;
  target.cached += call.cachedTokens;
  target.cost += cost;
}

function counters(sums: Sums): BillingCounters {
  return {
    requests: sums.requests,
    prompt_tokens: sums.prompt,
    completion_tokens: sums.completion,
    cached_tokens: sums.cached,
    cost_nanos: sums.cost.toString(),
  };
}

function line(cells: Iterable<Cell>): BillingLine {
  const realtime = zero();
  const batch = zero();
  for (const cell of cells) {
    for (const [target, source] of [
      [realtime, cell.realtime],
      [batch, cell.batch],
    ] as const) {
      target.requests += source.requests;
      target.prompt += source.prompt;
      target.completion += source.completion;
      target.cached += source.cached;
      target.cost += source.cost;
    }
  }
  const all: Sums = {
    requests: realtime.requests + batch.requests,
    prompt: realtime.prompt + batch.prompt,
    completion: realtime.completion + batch.completion,
    cached: realtime.cached + batch.cached,
    cost: realtime.cost + batch.cost,
  };
  return { ...counters(all), realtime: counters(realtime), batch: counters(batch) };
}

export class BillingLedger {
  private book: PriceBook;
  private calls: BilledCall[] = [];
  /** key name -> model -> sums */
  private cells = new Map<string, Map<string, Cell>>();

  constructor(
    private readonly orgId: string,
    models: readonly ModelSpec[],
    discounts: { cachedDiscountPercent: number; batchDiscountPercent: number },
    private readonly now: () => number,
  ) {
    const tokenBook = createPriceBook(
      Object.fromEntries(
        models.filter((model) => model.kind === 'chat').map((model) => [model.id, model.price]),
      ),
      discounts,
    );
    const audio = new Map<string, AudioPrice>();
    const speech = new Map<string, SpeechPrice>();
    for (const model of models) {
      if (model.audioPrice) {
        audio.set(model.id, {
          perHour: usdToNanos(model.audioPrice.perHour),
          minimumSeconds: model.audioPrice.minimumSeconds,
        });
      }
      if (model.speechPrice) {
        speech.set(model.id, { perMillionCharacters: usdToNanos(model.speechPrice.perMillionCharacters) });
      }
    }
    this.book = { ...tokenBook, audio, speech };
  }

  /** Bill a speech-to-text call (per second, with the minimum) or a text-to-speech call (per character). */
  billUnits(call: BillableUnits): { cost: bigint; quantity: number } {
    let cost: bigint;
    let quantity: number;
    let unit: 'audio_seconds' | 'characters';
    if (call.durationSeconds !== undefined) {
      const price = audioPriceOf(this.book, call.model);
      quantity = billedAudioSeconds(price, call.durationSeconds);
      cost = audioCost(price, quantity);
      unit = 'audio_seconds';
    } else {
      quantity = call.characters ?? 0;
      cost = speechCost(speechPriceOf(this.book, call.model), quantity);
      unit = 'characters';
    }
    let byModel = this.cells.get(call.keyName);
    if (!byModel) this.cells.set(call.keyName, (byModel = new Map()));
    let cell = byModel.get(call.model);
    if (!cell) byModel.set(call.model, (cell = { realtime: zero(), batch: zero() }));
    cell.realtime.requests++;
    cell.realtime.cost += cost;
    this.calls.push({
      request_id: call.requestId,
      key_name: call.keyName,
      model: call.model,
      prompt_tokens: 0,
      completion_tokens: 0,
      cached_tokens: 0,
      total_tokens: 0,
      cost_nanos: cost.toString(),
      batch: false,
      stream: false,
      cut: false,
      at: this.now(),
      endpoint: call.endpoint,
      unit,
      quantity,
    });
    return { cost, quantity };
  }

  get priceBook(): PriceBook {
    return this.book;
  }

  /** Bill one call; returns its cost in nanos. */
  bill(call: BillableUsage): bigint {
    const cost = costOf(
      this.book,
      call.model,
      {
        promptTokens: call.promptTokens,
        completionTokens: call.completionTokens,
        cachedTokens: call.cachedTokens,
      },
      { batch: call.batch },
    );
    let byModel = this.cells.get(call.keyName);
    if (!byModel) this.cells.set(call.keyName, (byModel = new Map()));
    let cell = byModel.get(call.model);
    if (!cell) byModel.set(call.model, (cell = { realtime: zero(), batch: zero() }));
    add(call.batch ? cell.batch : cell.realtime, call, cost);
    const record: BilledCall = {
      request_id: call.requestId,
      key_name: call.keyName,
      model: call.model,
      prompt_tokens: call.promptTokens,
      completion_tokens: call.completionTokens,
      cached_tokens: call.cachedTokens,
      total_tokens: call.promptTokens + call.completionTokens,
      cost_nanos: cost.toString(),
      batch: call.batch,
      stream: call.stream,
      cut: call.cut,
      at: this.now(),
    };
    if (call.batchId !== undefined) record.batch_id = call.batchId;
    if (call.customId !== undefined) record.custom_id = call.customId;
    if (call.endpoint !== undefined) record.endpoint = call.endpoint;
    this.calls.push(record);
    return cost;
  }

  report(): BillingReport {
    const keys: BillingReport['keys'] = {};
    const modelCells = new Map<string, Cell[]>();
    const allCells: Cell[] = [];
    for (const [keyName, byModel] of [...this.cells.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const models: Record<string, BillingLine> = {};
      for (const [model, cell] of [...byModel.entries()].sort(([a], [b]) => a.localeCompare(b))) {
        models[model] = line([cell]);
        allCells.push(cell);
        const list = modelCells.get(model) ?? [];
        list.push(cell);
        modelCells.set(model, list);
      }
      keys[keyName] = { totals: line(byModel.values()), models };
    }
    const models: Record<string, BillingLine> = {};
    for (const [model, cells] of [...modelCells.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      models[model] = line(cells);
    }
    return { org_id: this.orgId, currency: 'USD', unit: 'nanos', totals: line(allCells), models, keys };
  }

  /** Every billed call, oldest first (copies). */
  list(): BilledCall[] {
    return this.calls.map((call) => ({ ...call }));
  }

  clear(): void {
    this.calls = [];
    this.cells = new Map();
  }
}
