/**
 * The validating step of a batch: read the input file from the ledger a page at a time, check every
 * line and store the good ones as pending items page by page (`validate-pages.ts`; an attempt cut off
 * by its timeout is resumed by the next from its last page), apply the team's
 * policy (the same check as a single request), and refuse a batch whose worst case does not fit the
 * remaining budget (its items are deleted again). Nothing is spent before this passes.
 */
import type { BatchLineError } from '../../domain/batch-lines';
import { formatUsd } from '../../domain/money';
import { periodOf } from '../../ledger';
import { fileLines } from '../../ledger/batch-file-chunks';
import { BatchStore } from '../../ledger/batches';
import type { CompletionDeps } from '../completion/deps';
import { checkPolicy } from '../completion/policy';
import type { BatchRef, ValidateResult } from './types';
import { storeValidLines } from './validate-pages';

/** A batch of at least this many items has the planner's statistics refreshed once it is stored. */
export const ANALYZE_FROM_ITEMS = 10_000;

type ErrorEntry = Omit<BatchLineError, 'line'> & { line: number | null; custom_id?: string };

export async function validateBatch(deps: CompletionDeps, input: BatchRef): Promise<ValidateResult> {
  const store = new BatchStore(deps.ledger.sql);
  const batch = await store.getBatch(input.batchId);
  if (!batch) throw new Error(`batch ${input.batchId} does not exist`);
  const fail = async (code: string, errors: ErrorEntry[]): Promise<ValidateResult> => {
    await store.clearItems(batch.id);
    await store.setStatus(batch.id, 'failed', new Date(deps.now()), { errors });
    return { ok: false, code };
  };
  const config = deps.config();
  const team = config.teams.get(batch.team);
  const passed = (total: number, upstreamKey: string): ValidateResult => ({
    ok: true,
    total,
    team: batch.team,
    gatewayKeyId: batch.gatewayKeyId,
    upstreamKey,
    mode: batch.mode,
    expiresAtMs: batch.expiresAt.getTime(),
  });
  if (batch.status === 'failed') return { ok: false, code: 'failed' };
  // a re-run after the step already passed (its result was lost): the items are stored
  if (batch.inProgressAt !== null && team) return passed(batch.total, team.upstreamKey);
  if (!team)
    return fail('team_not_found', [
      { code: 'team_not_found', line: null, message: 'No such team.', param: null },
    ]);
  const file = await store.getFile(batch.inputFileId);
  if (!file || file.kind !== 'input') {
    return fail('invalid_file', [
      { code: 'invalid_file', line: null, message: 'The input file does not exist.', param: 'input_file_id' },
    ]);
  }
  // an attempt cut off before (a very large file) left its pages and progress: this one goes on from there
  const stored = await storeValidLines(store, batch.id, fileLines(deps.ledger.sql, file.id), {
    ...team,
    pricing: config.pricing,
    batchPrice: batch.mode === 'groq-batch',
  });

  // the same policy as a single request, once per model the batch uses
  for (const model of stored.models) {
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
  const problems: ErrorEntry[] = stored.errors;
  if (problems.length > 0 && !batch.skipInvalidLines) return fail('invalid_lines', problems);
  if (stored.total === 0) {
    return fail('empty_batch', [
      ...problems,
      { code: 'empty_batch', line: null, message: 'The input file has no valid line.', param: null },
    ]);
  }

  const period = periodOf(new Date(deps.now()), config.org.timezone);
  const worst = stored.worstNanos;
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

  // fresh statistics for a large batch's items, before its runs read them page by page
  if (stored.total >= ANALYZE_FROM_ITEMS) {
    await store.analyzeItems().catch((error: unknown) => {
      deps.log.warn(`batch ${batch.id}: ANALYZE batch_items failed: ${(error as Error).message}`);
    });
  }
  await store.setValidated(batch.id, stored.total, problems.length > 0 ? problems : null);
  await store.setStatus(batch.id, 'in_progress', new Date(deps.now()));
  await store.endValidation(batch.id);
  return passed(stored.total, team.upstreamKey);
}
