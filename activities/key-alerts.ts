/**
 * Alerts about upstream keys (a 401 for a version, a rotation rolled back, traffic on a retiring
 * version, a version to delete in the Groq console): written to the log and posted to the configured
 * webhooks as a Slack-compatible JSON body. They name keys and versions, never secrets. A webhook that
 * fails is logged and retried a few times; it never fails the work that raised the alert.
 */
import type { Logger } from './alerts';

export interface KeyAlert {
  keyName: string;
  severity: 'info' | 'warning' | 'critical';
  message: string;
}

export interface KeyAlertSink {
  notify(alert: KeyAlert): Promise<void>;
}

export function createKeyAlertSink(options: {
  webhooks: readonly string[];
  log: Logger;
  fetch?: typeof fetch;
  attempts?: number;
  timeoutMs?: number;
}): KeyAlertSink {
  const send = options.fetch ?? fetch;
  const attempts = options.attempts ?? 3;
  return {
    async notify(alert) {
      options.log.warn(alert.message, { keyAlert: alert });
      const body = JSON.stringify({ text: alert.message, key_alert: alert });
      await Promise.all(
        options.webhooks.map(async (url) => {
          for (let attempt = 1; attempt <= attempts; attempt++) {
            try {
              const response = await send(url, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body,
                signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
              });
              if (response.ok) return;
              options.log.warn('key alert webhook answered with an error', {
                url,
                status: response.status,
                attempt,
              });
            } catch (error) {
              options.log.warn('key alert webhook failed', { url, error: String(error), attempt });
            }
            await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
          }
        }),
      );
    },
  };
}
