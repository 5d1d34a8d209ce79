/** What the benchmarks share: free ports, the benchmark configuration and the printed tables. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { DEFAULT_CONFIG_PATH, validateConfig, type GovernorConfig } from '../domain/config';

/** Rate limits far above what a benchmark sends: the benchmarks measure overhead, not limits. */
export const HUGE = { rpm: 10_000_000, rpd: 1_000_000_000, tpm: 1_000_000_000, tpd: 1_000_000_000_000 };

export interface RawBenchConfig {
  groq: { limits: Record<string, unknown> };
  teams: Record<string, Record<string, unknown>>;
  gateway?: Record<string, unknown>;
  org: Record<string, unknown>;
}

/**
 * The embedded default configuration with every model and team limit raised to HUGE (team concurrency
 * 4096), changed further by `adjust`, then validated; also as YAML, for a worker process of its own.
 */
export function benchConfigWithYaml(
  dataDir: string,
  adjust?: (raw: RawBenchConfig) => void,
): { config: GovernorConfig; yaml: string } {
  const raw = parseYaml(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as RawBenchConfig;
  for (const model of Object.keys(raw.groq.limits)) raw.groq.limits[model] = { ...HUGE };
  for (const team of Object.values(raw.teams)) {
    team.rpm = HUGE.rpm;
    team.tpm = HUGE.tpm;
    team.concurrency = 4096;
  }
  adjust?.(raw);
  const result = validateConfig(raw, 'bench config', { dataDir });
  if (!result.ok) throw new Error(result.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return { config: result.config, yaml: stringifyYaml(raw) };
}

export function benchConfig(dataDir: string, adjust?: (raw: RawBenchConfig) => void): GovernorConfig {
  return benchConfigWithYaml(dataDir, adjust).config;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port p with p+1000 free too (the dev server's Web UI). */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await portFree(port)) && (await portFree(port + 1000))) return port;
  }
  throw new Error('no free port pair');
}

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
