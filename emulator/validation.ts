/**
 * Chat completion request validation, as Groq answers it: 400 `invalid_request_error` with the offending
 * parameter in `param`. Returns the normalized request the completion logic works on.
 */
import { invalidRequest } from './errors';
import type { MessageLike } from './tokens';

export interface ChatRequest {
  model: string;
  messages: MessageLike[];
  /** `max_completion_tokens`, else the deprecated alias `max_tokens` */
  maxCompletionTokens: number | undefined;
  stream: boolean;
  body: Record<string, unknown>;
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool', 'developer', 'function']);
const SERVICE_TIERS = new Set(['auto', 'on_demand', 'flex', 'performance']);
const RESPONSE_FORMATS = new Set(['text', 'json_object', 'json_schema']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const present = (value: unknown): boolean => value !== undefined && value !== null;

function numberIn(body: Record<string, unknown>, name: string, min: number, max: number): void {
  const value = body[name];
  if (!present(value)) return;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidRequest(`'${name}' : value must be a number`, name);
  }
  if (value < min) throw invalidRequest(`'${name}' : number must be at least ${min}`, name);
  if (value > max) throw invalidRequest(`'${name}' : number must be at most ${max}`, name);
}

function positiveInteger(body: Record<string, unknown>, name: string): number | undefined {
  const value = body[name];
  if (!present(value)) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalidRequest(`'${name}' : value must be an integer`, name);
  }
  if (value < 1) throw invalidRequest(`'${name}' : number must be at least 1`, name);
  return value;
}

function validateMessage(message: unknown, index: number): MessageLike {
  const path = `messages.${index}`;
  if (!isObject(message)) throw invalidRequest(`'${path}' : value must be an object`, path);
  const { role, content } = message;
  if (typeof role !== 'string')
    throw invalidRequest(`'${path}' : property 'role' is missing`, `${path}.role`);
  if (!ROLES.has(role)) {
    throw invalidRequest(
      `'${path}.role' : value must be one of 'system', 'user', 'assistant', 'tool', 'developer'`,
      `${path}.role`,
    );
  }
  if (message.name !== undefined) {
    throw invalidRequest(
      `'${path}' : for 'role:${role}' the following must be satisfied[('${path}.name' : property 'name' is unsupported)]`,
      `${path}.name`,
    );
  }
  const contentOk =
    typeof content === 'string' ||
    Array.isArray(content) ||
    (role === 'assistant' && (content === null || content === undefined));
  if (!contentOk) {
    throw invalidRequest(
      `'${path}' : for 'role:${role}' the following must be satisfied[('${path}.content' : value must be a string or an array)]`,
      `${path}.content`,
    );
  }
  if (Array.isArray(content)) {
    content.forEach((part, partIndex) => {
      if (!isObject(part) || typeof part.type !== 'string') {
        throw invalidRequest(
          `'${path}.content.${partIndex}' : property 'type' is missing`,
          `${path}.content.${partIndex}`,
        );
      }
    });
  }
  return message;
}

export function validateChatRequest(input: unknown): ChatRequest {
  if (!isObject(input)) throw invalidRequest('request body must be a JSON object');
  const body = input;
  if (!present(body.model)) throw invalidRequest("'model' : property 'model' is missing", 'model');
  if (typeof body.model !== 'string' || body.model === '') {
    throw invalidRequest("'model' : value must be a non-empty string", 'model');
  }
  if (!present(body.messages))
    throw invalidRequest("'messages' : property 'messages' is missing", 'messages');
  if (!Array.isArray(body.messages)) throw invalidRequest("'messages' : value must be an array", 'messages');
  if (body.messages.length === 0)
    throw invalidRequest("'messages' : minimum number of items is 1", 'messages');
  const messages = body.messages.map((message, index) => validateMessage(message, index));

  if (present(body.n) && body.n !== 1) throw invalidRequest("'n' : number must be at most 1", 'n');
  if (present(body.logprobs) && body.logprobs !== false) {
    throw invalidRequest("'logprobs' : logprobs is not supported", 'logprobs');
  }
  if (present(body.logit_bias))
    throw invalidRequest("'logit_bias' : logit_bias is not supported", 'logit_bias');
  if (present(body.top_logprobs)) {
    throw invalidRequest("'top_logprobs' : top_logprobs is not supported", 'top_logprobs');
  }
  numberIn(body, 'temperature', 0, 2);
  numberIn(body, 'top_p', 0, 1);
  numberIn(body, 'presence_penalty', -2, 2);
  numberIn(body, 'frequency_penalty', -2, 2);

  const stop = body.stop;
  if (present(stop)) {
    if (Array.isArray(stop)) {
      if (stop.length > 4) throw invalidRequest("'stop' : maximum number of items is 4", 'stop');
      if (!stop.every((item) => typeof item === 'string')) {
        throw invalidRequest("'stop' : items must be strings", 'stop');
      }
    } else if (typeof stop !== 'string') {
      throw invalidRequest("'stop' : value must be a string or an array of strings", 'stop');
    }
  }

  const maxCompletion = positiveInteger(body, 'max_completion_tokens');
  const maxTokens = positiveInteger(body, 'max_tokens');

  if (present(body.stream) && typeof body.stream !== 'boolean') {
    throw invalidRequest("'stream' : value must be a boolean", 'stream');
  }
  if (present(body.tools)) {
    if (!Array.isArray(body.tools)) throw invalidRequest("'tools' : value must be an array", 'tools');
    if (body.tools.length > 128) throw invalidRequest("'tools' : maximum number of items is 128", 'tools');
  }
  if (present(body.service_tier) && !SERVICE_TIERS.has(String(body.service_tier))) {
    throw invalidRequest(
      "'service_tier' : value must be one of 'auto', 'on_demand', 'flex', 'performance'",
      'service_tier',
    );
  }
  if (present(body.response_format)) {
    const format = body.response_format;
    if (!isObject(format) || !RESPONSE_FORMATS.has(String(format.type))) {
      throw invalidRequest(
        "'response_format.type' : value must be one of 'text', 'json_object', 'json_schema'",
        'response_format',
      );
    }
  }
  return {
    model: body.model,
    messages,
    maxCompletionTokens: maxCompletion ?? maxTokens,
    stream: body.stream === true,
    body,
  };
}
