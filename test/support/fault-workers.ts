/**
 * Killing worker processes in fault scenarios: which workers are alive, SIGKILL one and wait for it to
 * exit, the calls a worker has claimed and not finished, polling, and a workflow's history (to tell
 * which workflows or activities the kill interrupted).
 */
import type { Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { Deployment, WorkerProcess } from './multiprocess';
import { EGRESS_CLAIM_SUFFIX } from '../../domain/egress';

interface Queryable {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function aliveWorkers(deployment: Deployment): WorkerProcess[] {
  return deployment.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
}

export async function killWorker(worker: WorkerProcess): Promise<void> {
  const exited = new Promise((resolve) => worker.child.once('exit', resolve));
  worker.child.kill('SIGKILL');
  await exited;
}

/** held reservations whose Groq call `worker` claimed (calls in flight), of requests matching `like` */
export async function claimedCalls(sql: Queryable, worker: WorkerProcess, like = '%'): Promise<number> {
  const { rows } = await sql.query(
    `SELECT COUNT(*) AS n FROM budget_reservations
      WHERE request_id LIKE $1 AND state = 'held' AND call_claimed_by LIKE $2`,
    [like, `worker@%:${worker.child.pid}${EGRESS_CLAIM_SUFFIX}`],
  );
  return Number(rows[0]?.n);
}

/** every event of a workflow's current run, page by page */
export async function historyEvents(
  connection: Connection,
  namespace: string,
  workflowId: string,
): Promise<temporal.api.history.v1.IHistoryEvent[]> {
  const events: temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await connection.workflowService.getWorkflowExecutionHistory({
      namespace,
      execution: { workflowId },
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}
