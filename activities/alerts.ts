/**
 * Budget alerts: written to the log and posted to the configured webhooks as a Slack-compatible JSON
 * body. A webhook that fails is logged and retried a few times; it never fails the request that
 * crossed the threshold.
 */
import { formatUsdCents, type Nanos } from '../domain/money';

export interface BudgetAlert {
  scope: 'team' | 'org';
  /** the team, for team alerts */
  team?: string;
  period: string;
  /** whole percent of the budget crossed (100: budget used up, the team is paused for the period) */
  threshold: number;
  used: Nanos;
  budget: Nanos;
}

export interface AlertSink {
  notify(alert: BudgetAlert): Promise<void>;
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export const consoleLogger: Logger = {
  info: (message, fields) => console.log(JSON.stringify({ level: 'info', message, ...fields })),
  warn: (message, fields) => console.warn(JSON.stringify({ level: 'warn', message, ...fields })),
};

export function describeAlert(alert: BudgetAlert): string {
  const who = alert.scope === 'org' ? 'The organization' : `Team ${alert.team}`;
  const what =
    alert.threshold >= 100
      ? 'has used its whole monthly budget; further requests are refused until the period resets or the budget is raised'
      : `has used ${alert.threshold}% of its monthly budget`;
  return `${who} ${what} (${formatUsdCents(alert.used)} of ${formatUsdCents(alert.budget)}, ${alert.period}).`;
}

export function createAlertSink(options: {
  webhooks: readonly string[];
  log: Logger;
  fetch?: typeof fetch;
  attempts?: number;
  timeoutMs?: number;
}): AlertSink {
  const send = options.fetch ?? fetch;
  const attempts = options.attempts ?? 3;
  return {
    async notify(alert) {
      const text = describeAlert(alert);
      options.log.warn(text, {
        alert: { ...alert, used: alert.used.toString(), budget: alert.budget.toString() },
      });
      const body = JSON.stringify({
        text,
        alert: {
          ...alert,
          used_nanos: alert.used.toString(),
          budget_nanos: alert.budget.toString(),
          used: undefined,
          budget: undefined,
        },
      });
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
              options.log.warn('alert webhook answered with an error', {
                url,
                status: response.status,
                attempt,
              });
            } catch (error) {
              options.log.warn('alert webhook failed', { url, error: String(error), attempt });
            }
            await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
          }
        }),
      );
    },
  };
}
