/**
 * The end of every fault scenario: wait until the ledger has settled every reservation the scenario
 * made (no hold left open) and the emulator has finished the calls still in flight, audit, record the
 * table row, and assert that nothing was lost, billed twice or left unbilled.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, inject } from 'vitest';
import type { BilledCall } from '../../emulator';
import { auditFaults, type AuditExpectations, type AuditResult } from './fault-audit';
import type { SentRequest } from './fault-load';
import { faultRow, type FaultRow } from './fault-table';

interface Queryable {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export interface ScenarioEnd {
  scenario: string;
  sql: Queryable;
  billedCalls: () => BilledCall[];
  sent: SentRequest[];
  expect: AuditExpectations & { since: number };
  recoverMs: number | null;
  /** emulator latency: calls in flight when their caller died are billed this much later */
  settleMs?: number;
  note?: string;
}

export async function endScenario(end: ScenarioEnd): Promise<AuditResult> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { rows } = await end.sql.query(
      `SELECT COUNT(*) AS n FROM budget_reservations WHERE state = 'held' AND created_at >= $1::timestamptz`,
      [new Date(end.expect.since).toISOString()],
    );
    if (Number(rows[0]?.n) === 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await new Promise((resolve) => setTimeout(resolve, (end.settleMs ?? 0) + 250));
  const audit = await auditFaults(end.sql, end.billedCalls(), end.sent, end.expect);
  recordFaultRow(faultRow(end.scenario, audit, end.recoverMs, end.note));
  expect(audit.problems, audit.problems.join('\n')).toEqual([]);
  expect(audit.lost).toBe(0);
  expect(audit.doubleBilled).toBe(0);
  expect(audit.completed + audit.failedAsExpected).toBe(audit.requests);
  expect(audit.heldUnknownNanos >= audit.unbookedNanos).toBe(true);
  return audit;
}

/** ms from `from` until the last of `sent` was answered (null when none was) */
export function lastAnswerAfter(sent: SentRequest[], from: number): number | null {
  const answered = sent.flatMap((s) => (s.answeredAt === null ? [] : [s.answeredAt]));
  return answered.length ? Math.max(0, Math.max(...answered) - from) : null;
}

/** ms from `from` (the end of an outage) until the first request completed again (null when none did) */
export function firstSuccessAfter(sent: SentRequest[], from: number): number | null {
  const times = sent
    .filter((s) => s.status === 200 && s.answeredAt !== null && s.answeredAt >= from)
    .map((s) => s.answeredAt! - from);
  return times.length ? Math.min(...times) : null;
}

/** Records a scenario's row for the table printed at the end of the suite. */
export function recordFaultRow(row: FaultRow): void {
  const dir = inject('faultRowsDir');
  mkdirSync(dir, { recursive: true });
  const name = row.scenario.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(row, null, 2));
  console.log(`fault scenario ${row.scenario}: ${JSON.stringify(row)}`);
}

/** How the requests were answered, e.g. `200: 25, 503: 19` (no answer counts as `none`). */
export function statusSummary(sent: readonly SentRequest[]): string {
  const counts = new Map<string, number>();
  for (const request of sent) {
    const status = request.status === null ? 'none' : String(request.status);
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  return [...counts].map(([status, count]) => `${status}: ${count}`).join(', ');
}
