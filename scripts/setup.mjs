#!/usr/bin/env node
// One-time (and idempotent) setup for a fresh clone: checks Node, installs npm packages when
// node_modules is missing or older than package-lock.json, installs the pinned Temporal binaries, and
// compiles the entry points into .build/ where a source changed since their build.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTemporal } from './install-temporal.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  console.error(`[setup] Node ${process.versions.node} is too old: Groq Governor needs Node 20 or newer.`);
  process.exit(1);
}

const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
const stale =
  !existsSync(installed) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs);
if (stale) {
  console.log('[setup] installing npm packages (npm ci)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

try {
  ensureTemporal();
} catch (error) {
  console.error(`[setup] ${error.message}`);
  process.exit(1);
}

// the entry points compiled ahead (bin/compiled-entry.mjs), so the first processes start at once
const { ENTRIES, ensureBuilt } = await import('../bin/compiled-entry.mjs');
for (const entry of ENTRIES) await ensureBuilt(entry);
