/**
 * Global setup of the fault suite (after the shared Temporal setup): names the folder the scenarios
 * write their rows to, and at the end prints the table and writes it to `test-artifacts/faults.md`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { formatFaultTable, readFaultRows } from '../support/fault-table';

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'gg-faults-'));
  project.provide('faultRowsDir', dir);
  const started = Date.now();
  return () => {
    const rows = readFaultRows(dir);
    rmSync(dir, { recursive: true, force: true });
    if (rows.length === 0) return;
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    const table = formatFaultTable(rows);
    console.log(`\nFault suite (${rows.length} scenarios, ${minutes} min):\n\n${table}\n`);
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync(
      join('test-artifacts', 'faults.md'),
      `# Fault suite\n\n${new Date().toISOString()}, ${rows.length} scenarios, ${minutes} min\n\n${table}\n`,
    );
  };
}
