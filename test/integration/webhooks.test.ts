// Alert webhooks against a real HTTP receiver: each URL is retried until it answers 2xx (or the tries
// run out), every URL gets the same body, a failure never throws, and the log names only the host,
// never the URL's path, which for Slack-style webhooks is the secret.
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../activities/alerts';
import { createKeyAlertSink } from '../../activities/key-alerts';
import { postToWebhooks } from '../../activities/webhooks';
import { webhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

function recordingLog() {
  const lines: string[] = [];
  const log: Logger = {
    info: (message, fields) => lines.push(JSON.stringify({ message, ...fields })),
    warn: (message, fields) => lines.push(JSON.stringify({ message, ...fields })),
  };
  return { lines, log };
}

describe('alert webhooks', () => {
  const receivers: WebhookReceiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });

  it('retries a failing URL until it answers, and posts to every URL', async () => {
    const flaky = await webhookReceiver([503, 500, 200]);
    const steady = await webhookReceiver([200]);
    receivers.push(flaky, steady);
    const { lines, log } = recordingLog();
    await postToWebhooks({ webhooks: [flaky.url, steady.url], log, attempts: 3 }, 'test', { text: 'hello' });
    expect(flaky.bodies).toEqual(Array(3).fill({ text: 'hello' }));
    expect(steady.bodies).toEqual([{ text: 'hello' }]);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toContain(new URL(flaky.url).host);
      expect(line).not.toContain('secret-token-path');
    }
  });

  it('gives up after its tries without throwing, and survives a malformed URL', async () => {
    const down = await webhookReceiver([500]);
    receivers.push(down);
    const { lines, log } = recordingLog();
    const sink = createKeyAlertSink({ webhooks: [down.url, 'not a url'], log, attempts: 2 });
    await expect(
      sink.notify({ keyName: 'chatbot-prod-gateway', severity: 'critical', message: 'key v2 answered 401' }),
    ).resolves.toBeUndefined();
    expect(down.bodies).toEqual(
      Array(2).fill({
        text: 'key v2 answered 401',
        key_alert: { keyName: 'chatbot-prod-gateway', severity: 'critical', message: 'key v2 answered 401' },
      }),
    );
    expect(lines.join('\n')).not.toContain('secret-token-path');
    expect(lines.some((line) => line.includes('(malformed URL)'))).toBe(true);
  });
});
