/**
 * Exact cost of a Groq call. Prices are USD per 1M tokens, written as decimal strings in the config and
 * held here as integer nanos per 1M tokens. One rule, used by the ledger and by the emulator's bill:
 *
 *   units = (uncached_prompt * input + completion * output) * 100 + cached * cached_input_term
 *   cost  = ceil(units * (100 - batch_discount%) / (100 * 100 * 1_000_000))   nanos
 *
 * where cached_input_term is `cachedInput * 100` when the model has an explicit cached price and
 * `input * (100 - cached_discount%)` otherwise. Rounding happens once per call and always up, so the
 * ledger never under-counts; the division is exact integer arithmetic.
 */
import { ceilDiv, usdToNanos, type Nanos } from './money';

export interface ModelPrice {
  /** nanos per 1M input tokens */
  input: Nanos;
  /** nanos per 1M output tokens */
  output: Nanos;
  /** nanos per 1M cached input tokens; absent: input less the book's cached discount */
  cachedInput?: Nanos;
}

/** Speech to text: nanos per hour of audio, and the seconds Groq bills a request at least. */
export interface AudioPrice {
  perHour: Nanos;
  minimumSeconds: number;
}

/** Text to speech: nanos per 1M input characters. */
export interface SpeechPrice {
  perMillionCharacters: Nanos;
}

export interface PriceBook {
  models: ReadonlyMap<string, ModelPrice>;
  /** speech-to-text models (domain/modality-pricing.ts) */
  audio?: ReadonlyMap<string, AudioPrice>;
  /** text-to-speech models (domain/modality-pricing.ts) */
  speech?: ReadonlyMap<string, SpeechPrice>;
  /** whole percent off for cached prompt tokens without an explicit price (Groq: 50) */
  cachedDiscountPercent: number;
  /** whole percent off for the Batch API (Groq: 50) */
  batchDiscountPercent: number;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** prompt tokens served from cache; part of promptTokens */
  cachedTokens?: number;
}

export interface PriceInput {
  input: string | number;
  output: string | number;
  cachedInput?: string | number | undefined;
}

export function parseModelPrice(price: PriceInput): ModelPrice {
  const parsed: ModelPrice = { input: usdToNanos(price.input), output: usdToNanos(price.output) };
  if (price.cachedInput !== undefined) parsed.cachedInput = usdToNanos(price.cachedInput);
  return parsed;
}

export function createPriceBook(
  models: Record<string, PriceInput>,
  discounts: { cachedDiscountPercent?: number; batchDiscountPercent?: number } = {},
): PriceBook {
  const book: PriceBook = {
    models: new Map(Object.entries(models).map(([name, price]) => [name, parseModelPrice(price)])),
    cachedDiscountPercent: discounts.cachedDiscountPercent ?? 50,
    batchDiscountPercent: discounts.batchDiscountPercent ?? 50,
  };
  for (const percent of [book.cachedDiscountPercent, book.batchDiscountPercent]) {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
      throw new RangeError(`discount must be a whole percent 0..100, got ${percent}`);
    }
  }
  return book;
}

export class UnknownModelPriceError extends Error {
  constructor(readonly model: string) {
    super(`no price configured for model ${JSON.stringify(model)}`);
    this.name = 'UnknownModelPriceError';
  }
}

export function priceOf(book: PriceBook, model: string): ModelPrice {
  const price = book.models.get(model);
  if (!price) throw new UnknownModelPriceError(model);
  return price;
}

function checkCount(name: string, value: number): bigint {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be a whole number >= 0, got ${value}`);
  return BigInt(value);
}

/** Exact cost in nanos of one call. */
export function costOf(
  book: PriceBook,
  model: string,
  usage: TokenUsage,
  options: { batch?: boolean } = {},
): Nanos {
  const price = priceOf(book, model);
  const prompt = checkCount('promptTokens', usage.promptTokens);
  const completion = checkCount('completionTokens', usage.completionTokens);
  const cached = checkCount('cachedTokens', usage.cachedTokens ?? 0);
  if (cached > prompt) throw new RangeError('cachedTokens cannot exceed promptTokens');
  const cachedTerm =
    price.cachedInput !== undefined
      ? price.cachedInput * 100n
      : price.input * BigInt(100 - book.cachedDiscountPercent);
  const units = ((prompt - cached) * price.input + completion * price.output) * 100n + cached * cachedTerm;
  const keep = BigInt(100 - (options.batch ? book.batchDiscountPercent : 0));
  return ceilDiv(units * keep, 100n * 100n * 1_000_000n);
}

/** The most a call can cost: every prompt token uncached and the full completion allowance used. */
export function worstCaseCost(
  book: PriceBook,
  model: string,
  promptTokens: number,
  maxCompletionTokens: number,
  options: { batch?: boolean } = {},
): Nanos {
  return costOf(book, model, { promptTokens, completionTokens: maxCompletionTokens }, options);
}
