/**
 * The process-wide settings a worker or gateway process takes from its environment, checked together
 * before anything starts: one message names every unusable variable (an operator fixes them all at
 * once), and a bad value never stops a process half-way up, after its dev server or ledger started.
 */
import { heapGrowingPercent, limitHeapGrowth } from './heap-growth';
import { workflowStackTraces } from './workflow-stack-traces';
import { workflowThreadOptions } from './workflow-thread';

const CHECKS: ReadonlyArray<(env: NodeJS.ProcessEnv) => unknown> = [
  heapGrowingPercent,
  workflowThreadOptions,
  workflowStackTraces,
];

/** Every unusable setting, one message each (empty when all are usable). */
export function processSettingProblems(env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  for (const check of CHECKS) {
    try {
      check(env);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return problems;
}

/** Checks every setting, then applies the ones that act on the process itself (V8's heap growth). */
export function applyProcessSettings(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): void {
  const problems = processSettingProblems(env);
  if (problems.length > 0) throw new RangeError(problems.join('\n'));
  limitHeapGrowth(env, execArgv);
}
