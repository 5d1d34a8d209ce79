// The report over traffic booked by the real completion path: governedCompletion workflows on the dev
// server against the emulator (an interactive request, a batch item, a refused model), at a fixed
// clock inside week 2026-W50. The batch flag, the cost and the refusal reach the report as booked, and
// the report's month-to-date equals the budget ledger's committed spend.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WeeklyReport } from '../../../domain/reports/figures';
import { loadWeeklyReport } from '../../../ledger/reports';
import type { GovernedCompletionResult } from '../../../workflows/governed-completion';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { reportConfig } from '../../support/report-seed';
import { devServerEnv } from '../../support/temporal';

const NOW = Date.parse('2026-12-09T10:00:00Z'); // Wednesday of 2026-W50

describe('weekly report over real governed completions', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let report: WeeklyReport;
  const results: Record<string, GovernedCompletionResult> = {};

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { config: reportConfig(), now: () => NOW });
    const alpha = await stack.issue('alpha', 'member');
    const gamma = await stack.issue('gamma', 'member');
    const run = async (requestId: string, keyId: string, model: string, interactive: boolean) => {
      results[requestId] = await stack.client.workflow.execute('governedCompletion', {
        taskQueue: stack.taskQueue,
        workflowId: `completion-${requestId}`,
        args: [
          {
            requestId,
            gatewayKeyId: keyId,
            request: {
              model,
              messages: [{ role: 'user', content: `report ${requestId}` }],
              max_completion_tokens: 20,
            },
            interactive,
            maxWaitMs: 5000,
          },
        ],
      });
    };
    const suffix = `${process.pid}-${Date.now()}`;
    await run(`interactive-${suffix}`, alpha.id, 'llama-3.1-8b-instant', true);
    await run(`batch-${suffix}`, alpha.id, 'llama-3.3-70b-versatile', false);
    await run(`refused-${suffix}`, gamma.id, 'llama-3.3-70b-versatile', true);
    report = await loadWeeklyReport(stack.ledger.sql, stack.config, '2026-W50', new Date(NOW));
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  it('books the batch item as batch traffic and the interactive request as interactive', async () => {
    const ok = Object.entries(results).filter(([, result]) => result.ok);
    expect(ok).toHaveLength(2);
    const usage = await stack.ledger.listUsage({ team: 'alpha' });
    const batchCost = usage.filter((row) => row.batch).reduce((sum, row) => sum + row.costNanos, 0n);
    const interactiveCost = usage.filter((row) => !row.batch).reduce((sum, row) => sum + row.costNanos, 0n);
    expect(batchCost).toBeGreaterThan(0n);
    expect(interactiveCost).toBeGreaterThan(0n);

    const alpha = report.teams.find((t) => t.team === 'alpha')!;
    expect(alpha.totals.requests).toBe(2n);
    expect(alpha.share.batch.requests).toBe(1n);
    expect(alpha.share.batch.costNanos).toBe(batchCost);
    expect(alpha.share.interactive.costNanos).toBe(interactiveCost);
    expect(alpha.share.batchRequestsBasisPoints).toBe(5000);
    expect(alpha.topModelByCost?.model).toBe('llama-3.3-70b-versatile');
    expect(alpha.dailyCostNanos[2]).toBe(batchCost + interactiveCost); // Wednesday
  });

  it('counts the refusal under its team and reason', () => {
    const gamma = report.teams.find((t) => t.team === 'gamma')!;
    expect(gamma.refusals.model_not_allowed).toBe(1n);
    expect(gamma.refusals.total).toBe(1n);
    expect(gamma.totals.costNanos).toBe(0n);
  });

  it('reconciles with the budget ledger: month-to-date equals the committed spend', async () => {
    const alpha = report.teams.find((t) => t.team === 'alpha')!;
    const spend = await stack.ledger.getTeamSpend('alpha', '2026-12');
    expect(alpha.budget.period).toBe('2026-12');
    expect(alpha.budget.monthToDateNanos).toBe(spend.committed);
    expect(report.org.budget.monthToDateNanos).toBe(
      (await stack.ledger.getSpend('org', '2026-12')).committed,
    );
    expect(report.reconciliation.matches).toBe(true);
  });
});
