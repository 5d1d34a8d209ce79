/**
 * The ledger against the emulator's bill after a `bench:batch` run, per call: every call the emulator
 * billed has exactly one `success` usage row of exactly its cost, no success row names a call the
 * emulator never billed, and no gateway request has two success rows. The usage rows are read in pages
 * in primary-key order, so a million-line run is compared without holding the table at once.
 */
import type { BilledCall } from '../emulator';
import type { SqlQueryable } from '../ledger';

const PAGE = 20_000;

interface UsageRow {
  request_id: string;
  attempt: number;
  upstream_request_id: string | null;
  cost_nanos: bigint | string;
}
/** problems listed in full; beyond that only counted */
const LISTED = 10;

export interface BillComparison {
  billedCalls: number;
  billedNanos: bigint;
  successRows: number;
  bookedNanos: bigint;
  /** one line per mismatch (at most LISTED), empty when the ledger equals the bill */
  problems: string[];
  mismatches: number;
}

export async function compareLedgerWithBill(
  sql: SqlQueryable,
  billed: BilledCall[],
  page = PAGE,
): Promise<BillComparison> {
  const costOf = new Map<string, bigint>();
  let billedNanos = 0n;
  for (const call of billed) {
    const cost = BigInt(call.cost_nanos);
    billedNanos += cost;
    costOf.set(call.request_id, (costOf.get(call.request_id) ?? 0n) + cost);
  }
  const problems: string[] = [];
  let mismatches = 0;
  const problem = (line: string) => {
    mismatches++;
    if (problems.length < LISTED) problems.push(line);
  };
  if (costOf.size !== billed.length) problem(`${billed.length - costOf.size} request id(s) billed twice`);

  const booked = new Set<string>();
  let successRows = 0;
  let bookedNanos = 0n;
  let lastRequest: string | null = null;
  let lastSuccessRequest: string | null = null;
  let lastAttempt = -1;
  for (;;) {
    const { rows }: { rows: UsageRow[] } = await sql.query<UsageRow>(
      `SELECT request_id, attempt, upstream_request_id, cost_nanos
         FROM usage_records
        WHERE outcome = 'success' AND ($1::text IS NULL OR (request_id, attempt) > ($1::text, $2::int))
        ORDER BY request_id, attempt
        LIMIT ${page}`,
      [lastRequest, lastAttempt],
    );
    for (const row of rows) {
      const { request_id: request, upstream_request_id: upstream } = row;
      const cost = BigInt(row.cost_nanos);
      successRows++;
      bookedNanos += cost;
      if (request === lastSuccessRequest) problem(`gateway request ${request} has two success rows`);
      lastSuccessRequest = request;
      if (upstream === null) {
        problem(`success row ${request}#${row.attempt} names no upstream call`);
        continue;
      }
      const billedCost = costOf.get(upstream);
      if (billedCost === undefined)
        problem(`success row ${request} names ${upstream}, which was never billed`);
      else if (booked.has(upstream)) problem(`upstream call ${upstream} has two success rows`);
      else if (billedCost !== cost)
        problem(`${upstream}: booked ${cost} nanos, billed ${billedCost} (request ${request})`);
      booked.add(upstream);
    }
    if (rows.length < page) break;
    const last: UsageRow = rows[rows.length - 1]!;
    lastRequest = last.request_id;
    lastAttempt = last.attempt;
  }
  let unbooked = 0;
  for (const id of costOf.keys()) if (!booked.has(id)) unbooked++;
  if (unbooked > 0) problem(`${unbooked} billed call(s) without a success row`);
  return { billedCalls: billed.length, billedNanos, successRows, bookedNanos, problems, mismatches };
}
