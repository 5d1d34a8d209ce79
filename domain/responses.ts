/**
 * The Responses API (`POST /openai/v1/responses`): the request's input as chat messages (for prompt
 * bounds and the emulator), and the server-sent events a streamed Response is made of. Shared by the
 * emulator (which streams a Response it makes) and the gateway (which streams one Groq made).
 */

export interface ResponsesMessage {
  role: string;
  content: string;
}

export type ResponsesParse =
  | {
      ok: true;
      model: string;
      /** the input (and instructions) as chat messages */
      messages: ResponsesMessage[];
      maxOutputTokens?: number;
      stream: boolean;
      body: Record<string, unknown>;
    }
  | { ok: false; message: string; param?: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A message's content as text: a string, or the text of its input_text / output_text parts. */
function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const texts: string[] = [];
  for (const part of content) {
    if (!isObject(part) || typeof part.text !== 'string') return null;
    texts.push(part.text);
  }
  return texts.join('');
}

export function parseResponsesRequest(body: unknown): ResponsesParse {
  if (!isObject(body)) return { ok: false, message: 'The request body must be a JSON object.' };
  if (typeof body.model !== 'string' || body.model === '') {
    return { ok: false, message: "'model' : property 'model' is missing", param: 'model' };
  }
  const messages: ResponsesMessage[] = [];
  if (body.instructions !== undefined && body.instructions !== null) {
    if (typeof body.instructions !== 'string') {
      return { ok: false, message: "'instructions' : value must be a string", param: 'instructions' };
    }
    messages.push({ role: 'system', content: body.instructions });
  }
  const input = body.input;
  if (typeof input === 'string') messages.push({ role: 'user', content: input });
  else if (Array.isArray(input) && input.length > 0) {
    for (const [index, item] of input.entries()) {
      const text = isObject(item) ? contentText(item.content) : null;
      const role = isObject(item) && typeof item.role === 'string' ? item.role : null;
      if (text === null || role === null) {
        return {
          ok: false,
          message: `'input[${index}]' : expected a message with a role and text content`,
          param: `input[${index}]`,
        };
      }
      messages.push({ role, content: text });
    }
  } else {
    return {
      ok: false,
      message: "'input' : a string or a non-empty list of messages is required",
      param: 'input',
    };
  }
  const max = body.max_output_tokens;
  if (max !== undefined && max !== null && (typeof max !== 'number' || !Number.isInteger(max) || max < 1)) {
    return {
      ok: false,
      message: "'max_output_tokens' : value must be a whole number >= 1",
      param: 'max_output_tokens',
    };
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    return { ok: false, message: "'stream' : value must be a boolean", param: 'stream' };
  }
  return {
    ok: true,
    model: body.model,
    messages,
    ...(typeof max === 'number' ? { maxOutputTokens: max } : {}),
    stream: body.stream === true,
    body,
  };
}

/** What a Response's `usage` says, in the governor's terms. */
export function responseUsage(response: Record<string, unknown>): {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
} {
  const usage = isObject(response.usage) ? response.usage : {};
  const whole = (value: unknown) =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
  const details = isObject(usage.input_tokens_details) ? usage.input_tokens_details : {};
  const promptTokens = whole(usage.input_tokens);
  return {
    promptTokens,
    completionTokens: whole(usage.output_tokens),
    cachedTokens: Math.min(promptTokens, whole(details.cached_tokens)),
  };
}

/** The text of a Response's output messages. */
export function responseText(response: Record<string, unknown>): string {
  const output = Array.isArray(response.output) ? response.output : [];
  const texts: string[] = [];
  for (const item of output) {
    if (!isObject(item) || !Array.isArray(item.content)) continue;
    for (const part of item.content)
      if (isObject(part) && typeof part.text === 'string') texts.push(part.text);
  }
  return texts.join('');
}

export interface ResponseEvent {
  type: string;
  data: Record<string, unknown>;
}

/** Split text into stream deltas: a word and the space before it. */
function deltasOf(text: string): string[] {
  return text.match(/\s*\S+/g) ?? (text === '' ? [] : [text]);
}

/**
 * The events of a streamed Response, in the order Groq (and OpenAI) send them: created, in_progress,
 * the message item and its text part added, a delta per word, the text, part and item done, and
 * `response.completed` (or `response.incomplete`) with the whole Response, usage included.
 */
export function responseStreamEvents(response: Record<string, unknown>): ResponseEvent[] {
  const events: ResponseEvent[] = [];
  let sequence = 0;
  const push = (type: string, data: Record<string, unknown>) =>
    events.push({ type, data: { type, sequence_number: sequence++, ...data } });
  const pending = { ...response, status: 'in_progress', output: [], usage: null, incomplete_details: null };
  push('response.created', { response: pending });
  push('response.in_progress', { response: pending });
  const output = Array.isArray(response.output) ? response.output : [];
  output.forEach((item, outputIndex) => {
    if (!isObject(item)) return;
    const itemId = typeof item.id === 'string' ? item.id : `msg_${outputIndex}`;
    push('response.output_item.added', {
      output_index: outputIndex,
      item: { ...item, status: 'in_progress', content: [] },
    });
    const parts = Array.isArray(item.content) ? item.content : [];
    parts.forEach((part, contentIndex) => {
      if (!isObject(part)) return;
      const text = typeof part.text === 'string' ? part.text : '';
      const where = { item_id: itemId, output_index: outputIndex, content_index: contentIndex };
      push('response.content_part.added', { ...where, part: { ...part, text: '' } });
      for (const delta of deltasOf(text))
        push('response.output_text.delta', { ...where, delta, logprobs: [] });
      push('response.output_text.done', { ...where, text, logprobs: [] });
      push('response.content_part.done', { ...where, part });
    });
    push('response.output_item.done', { output_index: outputIndex, item });
  });
  push(response.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response });
  return events;
}

/** One event as server-sent-event text. */
export function sseEvent(event: ResponseEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}
