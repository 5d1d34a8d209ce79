/**
 * The emulator's deterministic token rule (see docs/emulator.md):
 *
 *   tokens(text)   = Σ over each run of non-whitespace characters: ceil(code points / 4)
 *   prompt_tokens  = 3                                    (reply priming)
 *                  + Σ messages: 4                        (per-message framing)
 *                                + tokens(content text)   (string content, or the text parts of an array;
 *                                                          each image part counts 85)
 *                                + tokens(JSON of tool_calls), if any
 *                  + tokens(JSON of tools), if any
 *
 * Emulator directives (`[[emulator:name=value]]`) are removed from the text before counting, so adding
 * one never changes prompt_tokens. Whitespace is free.
 */

export const PRIMING_TOKENS = 3;
export const PER_MESSAGE_TOKENS = 4;
export const IMAGE_PART_TOKENS = 85;

const DIRECTIVE = /\[\[emulator:([A-Za-z_]+)=([^\]]*)\]\]/g;

const WHITESPACE = /\s+/;
const SURROGATE = /[\uD800-\uDFFF]/;

/** Token count of one piece of text under the emulator's rule (whitespace as in JavaScript's `\s`). */
export function countTextTokens(text: string): number {
  let tokens = 0;
  for (const word of text.split(WHITESPACE)) {
    if (word.length === 0) continue;
    const codePoints = SURROGATE.test(word) ? [...word].length : word.length;
    tokens += Math.ceil(codePoints / 4);
  }
  return tokens;
}

export function stripDirectives(text: string): string {
  return text.includes('[[emulator:') ? text.replace(DIRECTIVE, ' ') : text;
}

export interface Directives {
  /** exact number of completion tokens to generate (still capped by max tokens and the context) */
  completionTokens?: number;
  /** prompt tokens to report as served from cache (capped by prompt_tokens) */
  cachedTokens?: number;
}

export const DIRECTIVE_NAMES = ['completion_tokens', 'cached_tokens'] as const;

export class DirectiveError extends Error {}

/** Directives found in one text. Unknown names or non-integer values throw DirectiveError. */
export function parseDirectives(text: string): Directives {
  const found: Directives = {};
  if (!text.includes('[[emulator:')) return found;
  for (const match of text.matchAll(DIRECTIVE)) {
    const name = match[1] ?? '';
    const raw = (match[2] ?? '').trim();
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
      throw new DirectiveError(`emulator directive ${name} needs a whole number, got ${JSON.stringify(raw)}`);
    }
    const value = Number(raw);
    if (name === 'completion_tokens') found.completionTokens = value;
    else if (name === 'cached_tokens') found.cachedTokens = value;
    else
      throw new DirectiveError(
        `unknown emulator directive ${JSON.stringify(name)} (known: ${DIRECTIVE_NAMES.join(', ')})`,
      );
  }
  return found;
}

/** The shapes of message content the token rule reads. */
export interface MessageLike {
  role?: unknown;
  content?: unknown;
  tool_calls?: unknown;
}

/** The text of a message's content: a string, or the `text` of each text part of an array. */
export function contentText(content: unknown): { text: string; images: number } {
  if (typeof content === 'string') return { text: content, images: 0 };
  if (!Array.isArray(content)) return { text: '', images: 0 };
  const texts: string[] = [];
  let images = 0;
  for (const part of content) {
    if (part && typeof part === 'object') {
      const typed = part as { type?: unknown; text?: unknown };
      if (typeof typed.text === 'string') texts.push(typed.text);
      else if (typed.type === 'image_url') images++;
    }
  }
  return { text: texts.join('\n'), images };
}

export function countMessageTokens(message: MessageLike): number {
  const { text, images } = contentText(message.content);
  let tokens = PER_MESSAGE_TOKENS + countTextTokens(stripDirectives(text)) + images * IMAGE_PART_TOKENS;
  if (message.tool_calls !== undefined && message.tool_calls !== null) {
    tokens += countTextTokens(JSON.stringify(message.tool_calls));
  }
  return tokens;
}

export function countPromptTokens(messages: readonly MessageLike[], tools?: unknown): number {
  let tokens = PRIMING_TOKENS;
  for (const message of messages) tokens += countMessageTokens(message);
  if (tools !== undefined && tools !== null) tokens += countTextTokens(JSON.stringify(tools));
  return tokens;
}

/** Directives from the last user message (the only place they are read). */
export function directivesOf(messages: readonly MessageLike[]): Directives {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message?.role === 'user') return parseDirectives(contentText(message.content).text);
  }
  return {};
}
