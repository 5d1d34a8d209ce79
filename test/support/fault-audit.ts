/**
 * The fault suite's audit: after a scenario, compares what the clients saw, what the ledger recorded
 * and what the emulator billed.
 *
 * - completed: answered 200 (a stream: ended with its usage chunk)
 * - failed as expected: answered with a status the scenario expects (e.g. 401 for a revoked upstream
 *   key), a stream cut upstream that the ledger booked as `cut`, or (where the scenario allows it) no
 *   answer at all but a trace in the ledger (its reservation, usage row or refusal)
 * - lost: anything else (an unexpected status, no answer and no ledger trace)
 * - double-billed: a gateway request with two success rows, an upstream call (Groq request id) with two
 *   usage rows, or a success row the emulator never billed
 * - the budget counters: each scope's committed and held amounts equal its reservations' (settled;
 *   held and unknown), over the whole ledger
 * - the bill: every call the emulator billed has a success row of exactly its cost, or is covered by a
 *   reservation kept charged because the attempt's outcome is unknown (state `unknown`, at least the
 *   call's cost). Those reservations are listed; they are what the ledger may differ from the bill by.
 */
import type { BilledCall } from '../../emulator';
import type { SentRequest } from './fault-load';

interface Queryable {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export interface AuditExpectations {
  /** answers besides 200 that this scenario provokes on purpose */
  expectedStatuses?: number[];
  /** streams may be cut upstream (then the ledger must hold a `cut` row for them) */
  cutStreams?: boolean;
  /** a request may go unanswered (e.g. the gateway lost its database) if the ledger has a trace of it */
  unansweredWithTrace?: boolean;
  /** only what happened from this time on (ms since epoch): several scenarios share one deployment */
  since?: number;
}

export interface UnknownReservation {
  reservationId: string;
  requestId: string;
  amountNanos: bigint;
  /** the usage row's outcome: `unknown` (answer lost) or `cut` (stream cut before its usage) */
  outcome: string;
}

export interface AuditResult {
  requests: number;
  completed: number;
  failedAsExpected: number;
  lost: number;
  doubleBilled: number;
  billedCalls: number;
  /** what the emulator billed, in nanos */
  billedNanos: bigint;
  /** what the ledger booked as successes, in nanos */
  bookedNanos: bigint;
  /** billed calls without a success row, in nanos (the ledger's difference from the bill) */
  unbookedNanos: bigint;
  /** held for attempts of unknown outcome, in nanos (must cover `unbookedNanos`) */
  heldUnknownNanos: bigint;
  unknownReservations: UnknownReservation[];
  /** every lost request, double billing or bill mismatch, one line each (empty when all is well) */
  problems: string[];
}

const big = (value: unknown): bigint => BigInt(String(value));

export async function auditFaults(
  sql: Queryable,
  billed: BilledCall[],
  sent: SentRequest[],
  expect: AuditExpectations = {},
): Promise<AuditResult> {
  const problems: string[] = [];
  const since = new Date(expect.since ?? 0).toISOString();
  billed = billed.filter((call) => call.at >= (expect.since ?? 0));
  const usage = (
    await sql.query(
      `SELECT u.request_id, u.attempt, u.outcome, u.upstream_request_id, u.cost_nanos, u.reservation_id,
              r.state, r.amount_nanos, r.settled_nanos
         FROM usage_records u LEFT JOIN budget_reservations r ON r.id = u.reservation_id
        WHERE NOT u.batch AND u.started_at >= $1::timestamptz
        ORDER BY u.request_id, u.attempt`,
      [since],
    )
  ).rows;
  const reservations = (
    await sql.query(
      `SELECT id, request_id, state, amount_nanos FROM budget_reservations
        WHERE created_at >= $1::timestamptz ORDER BY id`,
      [since],
    )
  ).rows;
  const refusals = (await sql.query(`SELECT request_id FROM refusals WHERE at >= $1::timestamptz`, [since]))
    .rows;

  const traced = new Set<string>([
    ...usage.map((r) => String(r.request_id)),
    ...reservations.map((r) => String(r.request_id)),
    ...refusals.map((r) => String(r.request_id)),
  ]);
  const successRows = usage.filter((r) => r.outcome === 'success');
  const successCount = new Map<string, number>();
  for (const row of successRows)
    successCount.set(String(row.request_id), (successCount.get(String(row.request_id)) ?? 0) + 1);
  const cutRequests = new Set(usage.filter((r) => r.outcome === 'cut').map((r) => String(r.request_id)));

  // what the clients saw
  let completed = 0;
  let failedAsExpected = 0;
  let lost = 0;
  const expectedStatuses = new Set(expect.expectedStatuses ?? []);
  const answeredIds = new Set(sent.flatMap((s) => (s.requestId ? [s.requestId] : [])));
  const unanswered: SentRequest[] = [];
  for (const request of sent) {
    const id = request.requestId ?? '(no id)';
    if (request.status === 200 && (!request.stream || request.streamComplete)) {
      completed++;
      if ((successCount.get(id) ?? 0) === 0)
        problems.push(`${request.label} ${id}: answered 200, no success row`);
    } else if (request.status === 200 && request.stream) {
      if (expect.cutStreams && cutRequests.has(id)) failedAsExpected++;
      else {
        lost++;
        problems.push(`lost: ${request.label} ${id}: stream broke without a cut row (${request.error})`);
      }
    } else if (request.status !== null && expectedStatuses.has(request.status)) failedAsExpected++;
    else if (request.status !== null) {
      lost++;
      problems.push(`lost: ${request.label} ${id}: unexpected ${request.status} (${request.error})`);
    } else unanswered.push(request);
  }
  // an unanswered request has no id: it is traced when the ledger holds a request nobody was answered for
  const orphans = [...traced].filter((id) => !answeredIds.has(id));
  unanswered.forEach((request, n) => {
    if (expect.unansweredWithTrace && n < orphans.length) failedAsExpected++;
    else {
      lost++;
      problems.push(
        `lost: ${request.label}: no answer (${request.error}); untraced ledger requests: ${orphans.length}`,
      );
    }
  });

  // double billing
  let doubleBilled = 0;
  for (const [id, count] of successCount)
    if (count > 1) {
      doubleBilled += count - 1;
      problems.push(`double-billed: ${id} has ${count} success rows`);
    }
  const rowsByUpstream = new Map<string, number>();
  for (const row of usage)
    if (row.upstream_request_id)
      rowsByUpstream.set(
        String(row.upstream_request_id),
        (rowsByUpstream.get(String(row.upstream_request_id)) ?? 0) + 1,
      );
  for (const [upstreamId, count] of rowsByUpstream)
    if (count > 1) {
      doubleBilled += count - 1;
      problems.push(`double-billed: upstream call ${upstreamId} has ${count} usage rows`);
    }
  const billedById = new Map(billed.map((call) => [call.request_id, call]));
  if (billedById.size !== billed.length) problems.push('the emulator billed one request id twice');
  for (const row of successRows) {
    const call = row.upstream_request_id ? billedById.get(String(row.upstream_request_id)) : undefined;
    if (!call) {
      doubleBilled++;
      problems.push(
        `double-billed: ${String(row.request_id)}#${String(row.attempt)} booked, never billed upstream`,
      );
    } else if (big(row.cost_nanos) !== big(call.cost_nanos))
      problems.push(`${String(row.request_id)}: booked ${String(row.cost_nanos)}, billed ${call.cost_nanos}`);
    if (row.state !== 'settled' || big(row.settled_nanos) !== big(row.cost_nanos))
      problems.push(
        `${String(row.request_id)}: reservation ${String(row.state)} ${String(row.settled_nanos)}`,
      );
  }

  // the bill: calls without a success row must be covered by reservations of unknown outcome
  const successUpstream = new Set(successRows.map((r) => String(r.upstream_request_id)));
  const unbooked = billed.filter((call) => !call.batch && !successUpstream.has(call.request_id));
  const unknownReservations: UnknownReservation[] = reservations
    .filter((r) => r.state === 'unknown')
    .map((r) => ({
      reservationId: String(r.id),
      requestId: String(r.request_id),
      amountNanos: big(r.amount_nanos),
      outcome: String(usage.find((u) => u.reservation_id === r.id)?.outcome ?? 'none'),
    }));
  const holds = new Map(unknownReservations.map((r) => [r.reservationId, r.amountNanos]));
  const uncovered: BilledCall[] = [];
  // a cut stream names its upstream call: its own reservation covers it
  const rest: BilledCall[] = [];
  for (const call of unbooked) {
    const row = usage.find((u) => String(u.upstream_request_id) === call.request_id);
    const hold = row ? holds.get(String(row.reservation_id)) : undefined;
    if (row && hold !== undefined) {
      holds.delete(String(row.reservation_id));
      if (hold < big(call.cost_nanos)) uncovered.push(call);
    } else rest.push(call);
  }
  // the others (answers lost): largest call against largest remaining hold
  const remaining = [...holds.values()].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  rest
    .sort((a, b) => (big(a.cost_nanos) < big(b.cost_nanos) ? 1 : -1))
    .forEach((call, n) => {
      if (n >= remaining.length || remaining[n]! < big(call.cost_nanos)) uncovered.push(call);
    });
  for (const call of uncovered)
    problems.push(`unbilled: upstream call ${call.request_id} (${call.cost_nanos} nanos) has no row or hold`);
  for (const r of reservations)
    if (r.state === 'held') problems.push(`reservation ${String(r.id)} still held after the scenario`);

  // the budget counters (whole ledger): each scope's committed and held equal its reservations' sums
  const counters = (
    await sql.query(
      `WITH charges AS (
         SELECT 'org' AS scope, period, state, amount_nanos, settled_nanos FROM budget_reservations
         UNION ALL
         SELECT 'team:' || team, period, state, amount_nanos, settled_nanos FROM budget_reservations
          WHERE team IS NOT NULL)
       SELECT b.scope, b.period, b.committed_nanos, b.held_nanos,
              COALESCE((SELECT SUM(settled_nanos) FROM charges c
                         WHERE c.scope = b.scope AND c.period = b.period AND c.state = 'settled'), 0) AS settled,
              COALESCE((SELECT SUM(amount_nanos) FROM charges c
                         WHERE c.scope = b.scope AND c.period = b.period AND c.state IN ('held', 'unknown')), 0) AS open
         FROM budgets b`,
    )
  ).rows;
  for (const row of counters)
    if (big(row.committed_nanos) !== big(row.settled) || big(row.held_nanos) !== big(row.open))
      problems.push(
        `budget ${String(row.scope)} ${String(row.period)}: committed ${String(row.committed_nanos)} held ` +
          `${String(row.held_nanos)}, its reservations say ${String(row.settled)} and ${String(row.open)}`,
      );

  const sum = (values: bigint[]): bigint => values.reduce((a, b) => a + b, 0n);
  return {
    requests: sent.length,
    completed,
    failedAsExpected,
    lost,
    doubleBilled,
    billedCalls: billed.filter((c) => !c.batch).length,
    billedNanos: sum(billed.filter((c) => !c.batch).map((c) => big(c.cost_nanos))),
    bookedNanos: sum(successRows.map((r) => big(r.cost_nanos))),
    unbookedNanos: sum(unbooked.map((c) => big(c.cost_nanos))),
    heldUnknownNanos: sum(unknownReservations.map((r) => r.amountNanos)),
    unknownReservations,
    problems,
  };
}
