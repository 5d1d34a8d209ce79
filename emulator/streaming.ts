/**
 * `stream: true` responses as Groq sends them: SSE `data: {chunk}` events of `chat.completion.chunk`:
 *
 *   1. role chunk: `delta: {role: "assistant", content: ""}`, carries `x_groq.id`
 *   2. one chunk per completion token: `delta: {content: " word"}`
 *   3. last chunk: `delta: {}`, the finish_reason, `x_groq: {id, usage}` and a top-level `usage`
 *   4. `data: [DONE]`
 *
 * A `cut_stream` fault sends only the first K chunks, then closes the connection. Either way `onDone`
 * reports how many completion tokens the sent chunks carried, which is what gets billed.
 */
import type { ServerResponse } from 'node:http';
import { systemFingerprint, usageOf, type CompletionPlan } from './completions';
import type { Headers } from './http';

export interface StreamIds {
  completionId: string;
  requestId: string;
}

/** Every SSE event of the stream, in order, ending with `data: [DONE]`. */
export function streamEvents(plan: CompletionPlan, ids: StreamIds, createdSeconds: number): string[] {
  const head =
    `{"id":${JSON.stringify(ids.completionId)},"object":"chat.completion.chunk","created":${createdSeconds},` +
    `"model":${JSON.stringify(plan.model)},"system_fingerprint":${JSON.stringify(systemFingerprint(plan.model))},`;
  const xGroqId = JSON.stringify(ids.requestId);
  const events: string[] = [
    `data: ${head}"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"x_groq":{"id":${xGroqId}}}\n\n`,
  ];
  plan.words.forEach((word, index) => {
    const content = JSON.stringify(index === 0 ? word : ` ${word}`);
    events.push(
      `data: ${head}"choices":[{"index":0,"delta":{"content":${content}},"logprobs":null,"finish_reason":null}]}\n\n`,
    );
  });
  const usage = JSON.stringify(usageOf(plan));
  events.push(
    `data: ${head}"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"${plan.finishReason}"}],` +
      `"x_groq":{"id":${xGroqId},"usage":${usage}},"usage":${usage}}\n\n`,
  );
  events.push('data: [DONE]\n\n');
  return events;
}

/** Completion tokens carried by the first `sentEvents` events. */
export function tokensInFirstEvents(plan: CompletionPlan, sentEvents: number): number {
  return Math.max(0, Math.min(sentEvents - 1, plan.completionTokens));
}

export interface StreamOptions {
  res: ServerResponse;
  headers: Headers;
  plan: CompletionPlan;
  ids: StreamIds;
  createdSeconds: number;
  /** ms between chunks (0: send everything at once) */
  perTokenMs: number;
  /** close the connection after this many chunks (fault) */
  cutAfterChunks?: number;
  /** called once: completion tokens sent, and whether the stream ended early */
  onDone(completionTokens: number, cut: boolean): void;
}

export function sendStream(options: StreamOptions): void {
  const { res, plan } = options;
  const events = streamEvents(plan, options.ids, options.createdSeconds);
  const chunkCount = events.length - 1; // the [DONE] line is not a chunk
  const cutAt =
    options.cutAfterChunks === undefined ? undefined : Math.min(options.cutAfterChunks, chunkCount);
  let sent = 0;
  let finished = false;
  let timer: NodeJS.Timeout | undefined;

  const finish = (cut: boolean): void => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    options.onDone(tokensInFirstEvents(plan, Math.min(sent, chunkCount)), cut);
  };
  // the client went away first: bill what was sent
  res.on('close', () => finish(true));

  res.writeHead(200, {
    ...options.headers,
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });

  /** hand `payload` to the socket, then close the connection without ending the stream */
  const cutAfter = (payload: string): void => {
    finish(true);
    if (payload === '') {
      res.flushHeaders();
      setImmediate(() => res.destroy());
    } else res.write(payload, () => res.destroy());
  };

  if (options.perTokenMs <= 0) {
    if (cutAt === undefined) {
      sent = events.length;
      res.end(events.join(''));
      finish(false);
    } else {
      sent = cutAt;
      cutAfter(events.slice(0, cutAt).join(''));
    }
    return;
  }

  const step = (): void => {
    timer = undefined;
    if (finished) return;
    const event = events[sent] ?? '';
    sent++;
    if (cutAt !== undefined && sent > cutAt) {
      sent--;
      cutAfter('');
    } else if (cutAt !== undefined && sent === cutAt) {
      cutAfter(event);
    } else if (sent === events.length) {
      res.end(event);
      finish(false);
    } else {
      res.write(event);
      // the role chunk goes out with the first token; tokens are perTokenMs apart
      timer = setTimeout(step, sent === 1 ? 0 : options.perTokenMs);
    }
  };
  step();
}
