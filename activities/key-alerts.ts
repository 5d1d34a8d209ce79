/**
 * Alerts about upstream keys (a 401 for a version, a rotation rolled back, traffic on a retiring
 * version, a version to delete in the Groq console): written to the log and posted to the configured
 * webhooks as a Slack-compatible JSON body. They name keys and versions, never secrets. A webhook that
 * fails is logged and retried a few times; it never fails the work that raised the alert.
 */
import { postToWebhooks, type WebhookOptions } from './webhooks';

export interface KeyAlert {
  keyName: string;
  severity: 'info' | 'warning' | 'critical';
  message: string;
}

export interface KeyAlertSink {
  notify(alert: KeyAlert): Promise<void>;
}

export function createKeyAlertSink(options: WebhookOptions): KeyAlertSink {
  return {
    async notify(alert) {
      options.log.warn(alert.message, { keyAlert: alert });
      await postToWebhooks(options, 'key alert', { text: alert.message, key_alert: alert });
    },
  };
}
