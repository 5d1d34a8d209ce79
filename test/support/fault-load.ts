/**
 * Load for the fault suite: chat completions sent through the gateway with the official `groq-sdk`
 * (`maxRetries: 0`, so every request is one gateway request), each one's outcome recorded with the
 * gateway's `x-request-id` when an answer carried one, so the audit can find it in the ledger.
 */
import Groq, { APIError } from 'groq-sdk';

export interface SentRequest {
  /** our own label, e.g. `storm-429-3` */
  label: string;
  stream: boolean;
  sentAt: number;
  answeredAt: number | null;
  /** the gateway's `x-request-id`, when an answer (or a stream's headers) arrived */
  requestId: string | null;
  /** HTTP status of the answer; null when none arrived (connection broken, timed out) */
  status: number | null;
  /** for streams: whether the stream ended with its final usage chunk */
  streamComplete?: boolean;
  error?: string;
}

export interface LoadClientOptions {
  gatewayUrl: string;
  apiKey: string;
  model: string;
  timeoutMs?: number;
}

export function loadClient(options: LoadClientOptions): {
  send(label: string, opts?: { stream?: boolean; maxTokens?: number }): Promise<SentRequest>;
} {
  const groq = new Groq({
    baseURL: options.gatewayUrl,
    apiKey: options.apiKey,
    maxRetries: 0,
    timeout: options.timeoutMs ?? 240_000,
  });
  return {
    async send(label, opts = {}) {
      const stream = opts.stream ?? false;
      const sent: SentRequest = {
        label,
        stream,
        sentAt: Date.now(),
        answeredAt: null,
        requestId: null,
        status: null,
      };
      const body = {
        model: options.model,
        messages: [{ role: 'user' as const, content: `fault suite ${label}: say something` }],
        max_completion_tokens: opts.maxTokens ?? 16,
      };
      try {
        if (stream) {
          const { data, response } = await groq.chat.completions
            .create({ ...body, stream: true })
            .withResponse();
          sent.requestId = response.headers.get('x-request-id');
          sent.status = response.status;
          let usage = false;
          for await (const chunk of data) {
            const extra = chunk as { x_groq?: { usage?: unknown }; usage?: unknown };
            if (extra.x_groq?.usage || extra.usage) usage = true;
          }
          sent.streamComplete = usage;
          if (!usage) sent.error = 'stream ended without its usage chunk';
        } else {
          const { response } = await groq.chat.completions.create(body).withResponse();
          sent.requestId = response.headers.get('x-request-id');
          sent.status = response.status;
        }
      } catch (error) {
        if (error instanceof APIError && error.status !== undefined) {
          sent.status = error.status;
          sent.requestId = error.headers?.get('x-request-id') ?? sent.requestId;
        } else if (stream && sent.status !== null) {
          sent.streamComplete = false;
        }
        sent.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      sent.answeredAt = Date.now();
      return sent;
    },
  };
}

/** Sends `count` requests `spacingMs` apart (all in flight together); resolves with every outcome. */
export async function sendSpaced(
  send: (label: string) => Promise<SentRequest>,
  prefix: string,
  count: number,
  spacingMs: number,
): Promise<SentRequest[]> {
  const pending: Promise<SentRequest>[] = [];
  for (let n = 0; n < count; n++) {
    pending.push(send(`${prefix}-${n}`));
    if (spacingMs > 0 && n < count - 1) await new Promise((resolve) => setTimeout(resolve, spacingMs));
  }
  return Promise.all(pending);
}
