/**
 * Budget alerts: written to the log and posted to the configured webhooks as a Slack-compatible JSON
 * body. A webhook that fails is logged and retried a few times; it never fails the request that
 * crossed the threshold.
 */
import { formatUsdCents, type Nanos } from '../domain/money';
import type { Logger } from './logger';
import { postToWebhooks, type WebhookOptions } from './webhooks';

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

export type { Logger } from './logger';

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

export function createAlertSink(options: WebhookOptions): AlertSink {
  return {
    async notify(alert) {
      const text = describeAlert(alert);
      options.log.warn(text, {
        alert: { ...alert, used: alert.used.toString(), budget: alert.budget.toString() },
      });
      await postToWebhooks(options, 'alert', {
        text,
        alert: {
          ...alert,
          used_nanos: alert.used.toString(),
          budget_nanos: alert.budget.toString(),
          used: undefined,
          budget: undefined,
        },
      });
    },
  };
}
