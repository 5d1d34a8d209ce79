/**
 * Prompt size before the call. Two numbers with two jobs:
 *
 * - `promptTokenBound` is a hard upper bound, used for budget reservations (never under-reserve):
 *   Groq's models use byte-level tokenizers, so no token is shorter than one UTF-8 byte, and the JSON
 *   text of the messages is longer than their content. Per message we add room for the chat
 *   template's role markers, and a fixed allowance per image part.
 * - `promptTokenEstimate` is a close guess (about four bytes a token), used only to admit requests
 *   against tokens-per-minute limits; the limiter is corrected with the real count afterwards.
 */
const encoder = new TextEncoder();

const PER_MESSAGE_OVERHEAD = 8;
const PER_REQUEST_OVERHEAD = 16;
const PER_IMAGE_PART = 1_600;

interface MessageLike {
  content?: unknown;
}

function countImages(messages: readonly MessageLike[]): number {
  let images = 0;
  for (const message of messages) {
    if (!Array.isArray(message.content)) continue;
    for (const part of message.content) {
      if (typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'image_url')
        images++;
    }
  }
  return images;
}

function jsonBytes(value: unknown): number {
  return value === undefined ? 0 : encoder.encode(JSON.stringify(value)).length;
}

export function promptTokenBound(messages: readonly MessageLike[], tools?: unknown): number {
  return (
    jsonBytes(messages) +
    jsonBytes(tools) +
    messages.length * PER_MESSAGE_OVERHEAD +
    countImages(messages) * PER_IMAGE_PART +
    PER_REQUEST_OVERHEAD
  );
}

export function promptTokenEstimate(messages: readonly MessageLike[], tools?: unknown): number {
  const bytes = jsonBytes(messages) + jsonBytes(tools);
  return Math.ceil(bytes / 4) + messages.length * 4 + countImages(messages) * 85 + 3;
}
