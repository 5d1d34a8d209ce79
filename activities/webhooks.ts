/**
 * Posting an alert to webhooks: a Slack-compatible JSON body to every URL at once, each retried a few
 * times with a growing pause. A failure is logged (with the URL's host only: a webhook URL's path is
 * often its secret) and never thrown: an alert must not fail the work that raised it.
 */
import type { Logger } from './logger';

export interface WebhookOptions {
  webhooks: readonly string[];
  log: Logger;
  fetch?: typeof fetch;
  /** tries per URL (default 3) */
  attempts?: number;
  /** per try (default 5000 ms) */
  timeoutMs?: number;
}

/** The part of a webhook URL that may be logged. */
export function webhookHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(malformed URL)';
  }
}

export async function postToWebhooks(options: WebhookOptions, what: string, payload: unknown): Promise<void> {
  const send = options.fetch ?? fetch;
  const attempts = options.attempts ?? 3;
  const body = JSON.stringify(payload);
  await Promise.all(
    options.webhooks.map(async (url) => {
      const host = webhookHost(url);
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          const response = await send(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
          });
          if (response.ok) return;
          options.log.warn(`${what} webhook answered with an error`, {
            host,
            status: response.status,
            attempt,
          });
        } catch (error) {
          options.log.warn(`${what} webhook failed`, { host, error: String(error), attempt });
        }
        if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
      }
    }),
  );
}
