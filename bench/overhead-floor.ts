/**
 * The floor of `bench:overhead`: the trivial `floorEcho` workflow started the way the gateway starts a
 * governed completion (the stack's client, which shares the worker's connection; `requestEagerStart`;
 * `workflow.execute`; the worker's task queue), and the history sizes of completed workflows.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
// a CommonJS module: its namespace through the default export when this file runs compiled as ESM
import proto from '@temporalio/proto';
import { TASK_QUEUES } from '../domain/task-queues';

/** about the size of a governed completion's request */
const FLOOR_INPUT = {
  model: 'llama-3.1-8b-instant',
  messages: [{ role: 'user', content: 'Say hello in five words.' }],
  max_completion_tokens: 16,
};

/** The last few ids seen (of completed workflows), for their histories. */
export class RecentIds {
  private readonly ids: string[] = [];

  constructor(private readonly keep = 5) {}

  add(id: string): void {
    this.ids.push(id);
    if (this.ids.length > this.keep) this.ids.shift();
  }

  list(): string[] {
    return [...this.ids];
  }
}

/**
 * Starts floor workflows: `floorEcho`, or given `waitMs`, `floorWait` (workflows/floor-wait.ts), which
 * waits that long in one local activity first, as a governed completion waits for its Groq call.
 */
export function floorSender(client: Client, recent: RecentIds, waitMs?: number): () => Promise<void> {
  const type = waitMs === undefined ? 'floorEcho' : 'floorWait';
  const args = waitMs === undefined ? [FLOOR_INPUT] : [FLOOR_INPUT, waitMs];
  return async () => {
    const workflowId = `floor-${randomUUID()}`;
    const result = await client.workflow.execute(type, {
      taskQueue: TASK_QUEUES.main,
      workflowId,
      args,
      requestEagerStart: true,
    });
    if ((result as typeof FLOOR_INPUT).model !== FLOOR_INPUT.model)
      throw new Error(`${type} did not return its input`);
    recent.add(workflowId);
  };
}

/** Whether a floor workflow started now is started eagerly (on this process's worker). */
export async function floorStartsEagerly(client: Client): Promise<boolean> {
  const handle = await client.workflow.start('floorEcho', {
    taskQueue: TASK_QUEUES.main,
    workflowId: `floor-${randomUUID()}`,
    args: [FLOOR_INPUT],
    requestEagerStart: true,
  });
  await handle.result();
  return handle.eagerlyStarted;
}

/** Mean number of history events of the given (completed) workflows; NaN without any. */
export async function meanHistoryEvents(client: Client, workflowIds: string[]): Promise<number> {
  return (await meanHistory(client, workflowIds)).events;
}

/**
 * Mean history of the given (completed) workflows: its events and its size in bytes as the server
 * stores and sends it (the encoded protobuf, payloads as the codec left them); NaN without any.
 */
export async function meanHistory(
  client: Client,
  workflowIds: string[],
): Promise<{ events: number; bytes: number }> {
  if (workflowIds.length === 0) return { events: Number.NaN, bytes: Number.NaN };
  let events = 0;
  let bytes = 0;
  for (const id of workflowIds) {
    const handle = client.workflow.getHandle(id);
    // a governed completion answers its caller before its workflow completes: count the whole history
    await handle.result().catch(() => undefined);
    const history = await handle.fetchHistory();
    events += history.events?.length ?? 0;
    bytes += proto.temporal.api.history.v1.History.encode(history).finish().length;
  }
  return { events: events / workflowIds.length, bytes: bytes / workflowIds.length };
}
