/** Where a stack keeps its state. One data folder per stack, so several stacks can run side by side. */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

export function resolveDataDir(explicit?: string): string {
  const dir = resolve(explicit ?? process.env.GOVERNOR_DATA_DIR ?? '.data');
  mkdirSync(dir, { recursive: true });
  return dir;
}
