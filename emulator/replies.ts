/**
 * Deterministic replies. The reply is a function of the request's content (model, messages, tools,
 * sampling settings) and nothing else: the same request always gets the same text. `max_tokens`, `stream`
 * and `user` are not part of the seed, so a capped reply is a prefix of the uncapped one and a stream
 * carries the same words as the JSON reply.
 *
 * Every word has at most 4 characters (3 letters plus an optional period), so each is exactly one token
 * under the token rule and a reply of N words is N completion tokens.
 */
import { createHash } from 'node:crypto';

const WORDS = [
  'the',
  'a',
  'of',
  'and',
  'to',
  'in',
  'is',
  'it',
  'for',
  'on',
  'was',
  'as',
  'at',
  'by',
  'we',
  'you',
  'can',
  'use',
  'api',
  'log',
  'run',
  'key',
  'set',
  'new',
  'old',
  'bit',
  'way',
  'day',
  'far',
  'big',
  'map',
  'sum',
  'net',
  'own',
  'now',
  'yes',
  'one',
  'two',
  'ten',
  'few',
  'all',
  'our',
  'fit',
  'say',
  'top',
  'low',
] as const;

/** Fewest and most completion tokens a reply has when no directive asks for a length. */
export const NATURAL_MIN_TOKENS = 8;
export const NATURAL_MAX_TOKENS = 64;

export interface ReplySeedInput {
  model: string;
  messages: unknown;
  tools?: unknown;
  tool_choice?: unknown;
  response_format?: unknown;
  temperature?: unknown;
  top_p?: unknown;
  seed?: unknown;
  stop?: unknown;
}

/** 32 bytes that identify the request's content. */
export function replySeed(input: ReplySeedInput): Buffer {
  const canonical = JSON.stringify([
    input.model,
    input.messages,
    input.tools ?? null,
    input.tool_choice ?? null,
    input.response_format ?? null,
    input.temperature ?? null,
    input.top_p ?? null,
    input.seed ?? null,
    input.stop ?? null,
  ]);
  return createHash('sha256').update(canonical).digest();
}

/** The natural (uncapped) completion length for a seed: NATURAL_MIN..NATURAL_MAX tokens. */
export function naturalLength(seed: Buffer): number {
  return NATURAL_MIN_TOKENS + (seed.readUInt32BE(0) % (NATURAL_MAX_TOKENS - NATURAL_MIN_TOKENS + 1));
}

/** mulberry32: a small, fast, well-mixed 32-bit PRNG. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * The reply's words: `count` one-token words, in sentences; joined with single spaces they are the text.
 * `finished` (finish_reason "stop") ends the last word with a period; a capped reply (finish_reason
 * "length") stops mid-sentence and is an exact prefix of the longer reply.
 */
export function replyWords(seed: Buffer, count: number, finished = true): string[] {
  const next = prng(seed.readUInt32BE(4));
  const words: string[] = [];
  let sentenceLeft = 0;
  let startOfSentence = true;
  for (let i = 0; i < count; i++) {
    if (sentenceLeft === 0) sentenceLeft = 4 + (next() % 9);
    let word: string = WORDS[next() % WORDS.length] ?? 'a';
    if (startOfSentence) word = word[0]?.toUpperCase() + word.slice(1);
    sentenceLeft--;
    startOfSentence = sentenceLeft === 0 || (finished && i === count - 1);
    if (startOfSentence) word += '.';
    words.push(word);
  }
  return words;
}

export function replyText(words: readonly string[]): string {
  return words.join(' ');
}
