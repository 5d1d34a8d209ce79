/** The figures `bench:overhead --json FILE` writes, so runs can be compared (ms, MB, counts). */
import { writeFileSync } from 'node:fs';

export interface OverheadFigures {
  direct_p50_c1: number;
  floor_p50_c1: number;
  governed_p50_c1: number;
  floor_rps_c64: number;
  governed_rps_c64: number;
  /** CPU ms per governed request of the stack's processes (this process and the ledger host), not the dev server */
  cpu_ms_per_governed: number;
  devserver_cpu_ms_per_governed: number;
  devserver_cpu_ms_per_floor: number;
  peak_rss_mb: number;
  history_events_per_governed: number;
  history_events_per_floor: number;
  ledger_statements_per_governed: number;
  stream_ttft_added_p50_c1: number;
  mode: 'pglite' | 'postgres';
}

/** Round to 0.01; NaN and infinities become null (JSON has no NaN). */
function clean(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.round(value * 100) / 100 : null;
  if (Array.isArray(value)) return value.map(clean);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, clean(v)]));
  return value;
}

/** Writes figures as JSON, rounded to 0.01 (any benchmark's `--json FILE`). */
export function writeJsonFigures(file: string, figures: Record<string, unknown>): void {
  writeFileSync(file, `${JSON.stringify(clean(figures), null, 2)}\n`);
}

export function writeFigures(file: string, figures: OverheadFigures, details: Record<string, unknown>): void {
  writeJsonFigures(file, { ...figures, ...details });
}
