/**
 * The completion logic shared by realtime calls and batch lines: from a validated request and its model
 * to a plan (token counts, reply words, finish reason) and Groq-shaped response objects.
 *
 * Counting against TPM/TPD (`reservedTokens`): uncached prompt tokens + the completion allowance, which
 * is `max_completion_tokens` (or `max_tokens`) when given and otherwise the completion the emulator will
 * generate. After the response the count is corrected to uncached prompt + completion tokens actually
 * generated (less than the allowance when the reply is shorter or a stream is cut).
 */
import { createHash } from 'node:crypto';
import type { ModelSpec } from './config';
import { contextLengthExceeded, invalidRequest } from './errors';
import { naturalLength, replySeed, replyText, replyWords } from './replies';
import { countPromptTokens, DirectiveError, directivesOf } from './tokens';
import type { ChatRequest } from './validation';

export interface CompletionPlan {
  model: string;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  finishReason: 'stop' | 'length';
  words: string[];
  /** counted against TPM/TPD at admission */
  reservedTokens: number;
}

export function planCompletion(request: ChatRequest, model: ModelSpec): CompletionPlan {
  let directives;
  try {
    directives = directivesOf(request.messages);
  } catch (error) {
    if (error instanceof DirectiveError) throw invalidRequest(error.message, 'messages');
    throw error;
  }
  const max = request.maxCompletionTokens;
  if (max !== undefined && model.maxCompletionTokens !== undefined && max > model.maxCompletionTokens) {
    throw invalidRequest(
      `\`max_tokens\` must be less than or equal to \`${model.maxCompletionTokens}\`, the maximum value for \`max_tokens\` is less than the \`context_window\` for this model`,
      'max_tokens',
    );
  }
  const promptTokens = countPromptTokens(request.messages, request.body.tools);
  if (promptTokens + (max ?? 0) > model.contextWindow) throw contextLengthExceeded();

  const body = request.body;
  const seed = replySeed({
    model: request.model,
    messages: request.messages,
    tools: body.tools,
    tool_choice: body.tool_choice,
    response_format: body.response_format,
    temperature: body.temperature,
    top_p: body.top_p,
    seed: body.seed,
    stop: body.stop,
  });
  const wanted = directives.completionTokens ?? naturalLength(seed);
  const cap = Math.min(max ?? Number.POSITIVE_INFINITY, model.contextWindow - promptTokens);
  const completionTokens = Math.min(wanted, cap);
  const finishReason = wanted > cap ? 'length' : 'stop';
  const cachedTokens = Math.min(directives.cachedTokens ?? 0, promptTokens);
  return {
    model: request.model,
    promptTokens,
    cachedTokens,
    completionTokens,
    finishReason,
    words: replyWords(seed, completionTokens, finishReason === 'stop'),
    reservedTokens: promptTokens - cachedTokens + (max ?? completionTokens),
  };
}

/** TPM/TPD tokens a call really used: uncached prompt + generated completion. */
export function actualTokens(plan: CompletionPlan, completionTokens: number): number {
  return plan.promptTokens - plan.cachedTokens + completionTokens;
}

export interface Usage {
  queue_time: number;
  prompt_tokens: number;
  prompt_time: number;
  completion_tokens: number;
  completion_time: number;
  total_tokens: number;
  total_time: number;
  prompt_tokens_details?: { cached_tokens: number };
}

const round6 = (value: number): number => Math.round(value * 1e6) / 1e6;

/**
 * Usage with deterministic timings: queue 0.0002 s, prompt at 100,000 tokens/s, completion at 800
 * tokens/s. `prompt_tokens_details.cached_tokens` is present when any prompt tokens were cached.
 */
export function usageOf(plan: CompletionPlan, completionTokens = plan.completionTokens): Usage {
  const promptTime = round6(plan.promptTokens / 100_000);
  const completionTime = round6(completionTokens / 800);
  const usage: Usage = {
    queue_time: 0.0002,
    prompt_tokens: plan.promptTokens,
    prompt_time: promptTime,
    completion_tokens: completionTokens,
    completion_time: completionTime,
    total_tokens: plan.promptTokens + completionTokens,
    total_time: round6(promptTime + completionTime),
  };
  if (plan.cachedTokens > 0) usage.prompt_tokens_details = { cached_tokens: plan.cachedTokens };
  return usage;
}

const fingerprints = new Map<string, string>();

/** `fp_` + 10 hex digits, stable per model. */
export function systemFingerprint(model: string): string {
  let fingerprint = fingerprints.get(model);
  if (!fingerprint) {
    fingerprint = `fp_${createHash('sha256').update(model).digest('hex').slice(0, 10)}`;
    fingerprints.set(model, fingerprint);
  }
  return fingerprint;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: [
    {
      index: 0;
      message: { role: 'assistant'; content: string };
      logprobs: null;
      finish_reason: 'stop' | 'length';
    },
  ];
  usage: Usage;
  system_fingerprint: string;
  x_groq: { id: string };
  service_tier: 'on_demand';
}

export function completionObject(
  plan: CompletionPlan,
  ids: { completionId: string; requestId: string },
  createdSeconds: number,
): ChatCompletion {
  return {
    id: ids.completionId,
    object: 'chat.completion',
    created: createdSeconds,
    model: plan.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: replyText(plan.words) },
        logprobs: null,
        finish_reason: plan.finishReason,
      },
    ],
    usage: usageOf(plan),
    system_fingerprint: systemFingerprint(plan.model),
    x_groq: { id: ids.requestId },
    service_tier: 'on_demand',
  };
}
