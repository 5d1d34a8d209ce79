/**
 * The fault suite's table: each scenario records one row (a JSON file in the folder the suite's global
 * setup names, `recordFaultRow` in fault-scenario.ts); the setup's teardown prints every row as a table
 * and writes `test-artifacts/faults.md`. No runtime import of vitest here: the global setup uses it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditResult } from './fault-audit';

declare module 'vitest' {
  export interface ProvidedContext {
    faultRowsDir: string;
  }
}

export interface FaultRow {
  scenario: string;
  requests: number;
  completed: number;
  failedAsExpected: number;
  lost: number;
  doubleBilled: number;
  /** ms from the end of the fault (or its start, for faults that end by themselves) to recovery */
  recoverMs: number | null;
  /** billed calls, ledger and bill in nanos, and reservations kept for unknown outcomes */
  billedCalls: number;
  billedNanos: string;
  bookedNanos: string;
  heldUnknown: string[];
  note: string;
  /** when the row was recorded (the table lists scenarios in the order they ran) */
  at: number;
}

export function faultRow(
  scenario: string,
  audit: AuditResult,
  recoverMs: number | null,
  note = '',
): FaultRow {
  return {
    scenario,
    requests: audit.requests,
    completed: audit.completed,
    failedAsExpected: audit.failedAsExpected,
    lost: audit.lost,
    doubleBilled: audit.doubleBilled,
    recoverMs,
    billedCalls: audit.billedCalls,
    billedNanos: audit.billedNanos.toString(),
    bookedNanos: audit.bookedNanos.toString(),
    heldUnknown: audit.unknownReservations.map(
      (r) => `${r.reservationId} (${r.outcome}, ${r.amountNanos} nanos)`,
    ),
    note,
    at: Date.now(),
  };
}

export function readFaultRows(dir: string): FaultRow[] {
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as FaultRow)
    .sort((a, b) => a.at - b.at);
}

const seconds = (ms: number | null): string => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);

/** The table in Markdown, then the reservations kept for attempts of unknown outcome. */
export function formatFaultTable(rows: FaultRow[]): string {
  const header = [
    'scenario',
    'requests',
    'completed',
    'failed as expected',
    'lost',
    'double-billed',
    'time to recover',
  ];
  const lines = rows.map((r) => [
    r.scenario,
    String(r.requests),
    String(r.completed),
    String(r.failedAsExpected),
    String(r.lost),
    String(r.doubleBilled),
    seconds(r.recoverMs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)];
  out.push(
    '',
    "Ledger against the emulator's bill (nanos), and reservations kept for attempts of unknown outcome:",
    '',
  );
  for (const r of rows) {
    out.push(
      `- ${r.scenario}: ${r.billedCalls} calls billed ${r.billedNanos}, booked as success ${r.bookedNanos}` +
        (r.heldUnknown.length
          ? `; unknown outcome, still charged: ${r.heldUnknown.join(', ')}`
          : '; none unknown') +
        (r.note ? `. ${r.note}` : ''),
    );
  }
  return out.join('\n');
}
