/**
 * What the gateway accepts as a chat completion request before any spend: the fields it must reason
 * about (model, messages, token allowance, stream) are checked here; every other field is passed to
 * Groq unchanged, so new Groq parameters work without a gateway release.
 */
import { z } from 'zod';
import { formatIssuePath } from './issue-path';

const contentPart = z.looseObject({ type: z.string().min(1) });
const message = z.looseObject({
  role: z.enum(['system', 'user', 'assistant', 'tool', 'developer']),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
});

const tokenCount = z.number().int().positive().max(10_000_000);

export const chatRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  messages: z.array(message).min(1).max(10_000),
  max_completion_tokens: tokenCount.nullish(),
  max_tokens: tokenCount.nullish(),
  stream: z.boolean().nullish(),
  n: z.literal(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;

export type ParsedChatRequest =
  | { ok: true; request: ChatRequest; maxCompletionTokens: number | undefined }
  | { ok: false; message: string; param: string };

export function parseChatRequest(body: unknown): ParsedChatRequest {
  const result = chatRequestSchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const param = formatIssuePath(issue.path);
    return { ok: false, message: `${param || 'body'}: ${issue.message}`, param };
  }
  const request = result.data;
  // Groq prefers max_completion_tokens; max_tokens is its deprecated alias
  const maxCompletionTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  return { ok: true, request, maxCompletionTokens };
}
