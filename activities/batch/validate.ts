/**
 * The validating step of a batch: read the input file from the ledger, check every line, apply the
 * team's policy (the same check as a single request), refuse a batch whose worst case does not fit the
 * remaining budget, and store the good lines as pending items. Nothing is spent before this passes.
 */
import { batchWorstCase, validateBatchLines, type BatchLineError } from '../../domain/batch-lines';
import { formatUsd } from '../../domain/money';
import { periodOf } from '../../ledger';
import { BatchStore } from '../../ledger/batches';
import type { CompletionDeps } from '../completion/deps';
import { checkPolicy } from '../completion/policy';
import type { BatchRef, ValidateResult } from './types';

type ErrorEntry = Omit<BatchLineError, 'line'> & { line: number | null; custom_id?: string };

export async function validateBatch(deps: CompletionDeps, input: BatchRef): Promise<ValidateResult> {
  const store = new BatchStore(deps.ledger.sql);
  const batch = await store.getBatch(input.batchId);
  if (!batch) throw new Error(`batch ${input.batchId} does not exist`);
  const fail = async (code: string, errors: ErrorEntry[]): Promise<ValidateResult> => {
    await store.setStatus(batch.id, 'failed', new Date(deps.now()), { errors });
    return { ok: false, code };
  };
  if (batch.status !== 'validating') {
    // a re-run after the step already finished
    if (batch.status === 'failed') return { ok: false, code: 'failed' };
  }
  const config = deps.config();
  const team = config.teams.get(batch.team);
  if (!team)
    return fail('team_not_found', [
      { code: 'team_not_found', line: null, message: 'No such team.', param: null },
    ]);
  const content = await store.inputContent(batch.inputFileId);
  if (content === null) {
    return fail('invalid_file', [
      { code: 'invalid_file', line: null, message: 'The input file does not exist.', param: 'input_file_id' },
    ]);
  }
  const { lines, errors } = validateBatchLines(content, team);

  // the same policy as a single request, once per model the batch uses
  for (const model of new Set(lines.map((line) => line.model))) {
    const policy = await checkPolicy(deps, {
      requestId: `batch:${batch.id}`,
      gatewayKeyId: batch.gatewayKeyId,
      model,
      interactive: false,
    });
    if (!policy.ok) {
      return fail(policy.refusal.code, [
        { code: policy.refusal.code, line: null, message: policy.refusal.message, param: null },
      ]);
    }
  }
  const problems: ErrorEntry[] = errors;
  if (problems.length > 0 && !batch.skipInvalidLines) return fail('invalid_lines', problems);
  if (lines.length === 0) {
    return fail('empty_batch', [
      ...problems,
      { code: 'empty_batch', line: null, message: 'The input file has no valid line.', param: null },
    ]);
  }

  const period = periodOf(new Date(deps.now()), config.org.timezone);
  const worst = batchWorstCase(config.pricing, lines, { batch: batch.mode === 'groq-batch' });
  const teamSpend = await deps.ledger.getTeamSpend(team.name, period);
  const orgSpend = await deps.ledger.getSpend('org', period);
  const teamLeft = team.monthlyBudgetNanos - teamSpend.committed - teamSpend.held;
  const orgLeft = config.org.monthlyCapNanos - orgSpend.committed - orgSpend.held;
  const left = teamLeft < orgLeft ? teamLeft : orgLeft;
  if (worst > left) {
    return fail('budget_exceeded', [
      {
        code: 'budget_exceeded',
        line: null,
        message:
          `This batch may cost up to $${formatUsd(worst)}, more than the $${formatUsd(left > 0n ? left : 0n)} ` +
          `left in team ${team.name}'s budget for ${period}. Split the batch or ask an administrator to raise the budget.`,
        param: null,
      },
    ]);
  }

  const total = await store.insertItems(
    batch.id,
    lines.map((line) => ({ line: line.line, customId: line.customId, body: line.body })),
    problems.length > 0 ? problems : null,
  );
  await store.setStatus(batch.id, 'in_progress', new Date(deps.now()));
  return {
    ok: true,
    total,
    team: team.name,
    gatewayKeyId: batch.gatewayKeyId,
    upstreamKey: team.upstreamKey,
    mode: batch.mode,
    expiresAtMs: batch.expiresAt.getTime(),
  };
}
