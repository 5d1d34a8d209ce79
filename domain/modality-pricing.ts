/**
 * Exact cost of the audio and speech endpoints, beside the token prices of domain/pricing.ts:
 *
 *   speech to text (transcriptions, translations): billed seconds = max(minimum, ceil(duration))
 *                                                   cost = ceil(billed seconds * USD per hour / 3600)
 *   text to speech:                                 cost = ceil(characters * USD per 1M characters / 1M)
 *
 * Prices are integer nanos (per hour, per 1M characters); rounding happens once per call and always up,
 * so the ledger never under-counts. The emulator bills with these same functions.
 */
import { ceilDiv, type Nanos } from './money';
import { UnknownModelPriceError, type AudioPrice, type PriceBook, type SpeechPrice } from './pricing';

export type { AudioPrice, SpeechPrice };

/** What a usage row counts: tokens (chat, responses), audio seconds (speech to text) or characters. */
export type UsageUnit = 'tokens' | 'audio_seconds' | 'characters';

export function audioPriceOf(book: PriceBook, model: string): AudioPrice {
  const price = book.audio?.get(model);
  if (!price) throw new UnknownModelPriceError(model);
  return price;
}

export function speechPriceOf(book: PriceBook, model: string): SpeechPrice {
  const price = book.speech?.get(model);
  if (!price) throw new UnknownModelPriceError(model);
  return price;
}

/** The seconds Groq bills for audio of `durationSeconds` (fractional): whole seconds, at least the minimum. */
export function billedAudioSeconds(price: AudioPrice, durationSeconds: number): number {
  if (!Number.isFinite(durationSeconds) || durationSeconds < 0) {
    throw new RangeError(`duration must be a number of seconds >= 0, got ${durationSeconds}`);
  }
  return Math.max(price.minimumSeconds, Math.ceil(durationSeconds));
}

/** Exact cost in nanos of `billedSeconds` (already whole and at least the minimum). */
export function audioCost(price: AudioPrice, billedSeconds: number): Nanos {
  if (!Number.isSafeInteger(billedSeconds) || billedSeconds < 0) {
    throw new RangeError(`billed seconds must be a whole number >= 0, got ${billedSeconds}`);
  }
  return ceilDiv(price.perHour * BigInt(billedSeconds), 3600n);
}

/** Characters a speech request is billed for: Unicode code points of its input. */
export function speechCharacters(input: string): number {
  let count = 0;
  for (const _ of input) count++;
  return count;
}

export function speechCost(price: SpeechPrice, characters: number): Nanos {
  if (!Number.isSafeInteger(characters) || characters < 0) {
    throw new RangeError(`characters must be a whole number >= 0, got ${characters}`);
  }
  return ceilDiv(price.perMillionCharacters * BigInt(characters), 1_000_000n);
}

/**
 * The most seconds an upload can hold when its header cannot be read: compressed speech is rarely below
 * 8 kbit/s, so 1,000 bytes a second, halved for safety (500 bytes a second, 4 kbit/s).
 */
export const MIN_AUDIO_BYTES_PER_SECOND = 500;

/** Worst-case billed seconds of an upload: its header's duration, or the byte-size bound. */
export function worstCaseAudioSeconds(
  price: AudioPrice,
  upload: { bytes: number; headerSeconds: number | null },
): number {
  const seconds = upload.headerSeconds ?? Math.ceil(upload.bytes / MIN_AUDIO_BYTES_PER_SECOND);
  return billedAudioSeconds(price, seconds);
}
