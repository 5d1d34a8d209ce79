// The README's quick start while `up` runs: the demo key `up` prints on a new data folder works with the
// curl and groq-sdk commands exactly as printed; in another terminal `keys create` issues a key that a
// groq-sdk call then uses through the running gateway; `keys list`, `migrate`, `keys upstream list`,
// `report run` and a second `worker` on the same data folder work beside `up` (the embedded ledger is
// served by up's ledger host); after `kill -9` of `up` the next start comes up on the same folder with
// nothing lost and no secret reprinted.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Groq from 'groq-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { emulatorConfigFor } from '../../../client/services/upstream';
import { loadConfigOrThrow } from '../../../domain/config';
import { generateKeySecret, startEmulator, type RunningEmulator } from '../../../emulator';
import { processAlive } from '../../../ledger/data-dir-owner';
import { freePort, freePortPair } from '../../support/ports';

const root = new URL('../../..', import.meta.url).pathname;
const cli = join(root, 'bin', 'groq-governor.js');
const KEY_PATTERN = /ggk_[A-Za-z0-9]+_[A-Za-z0-9]+/;

interface Started {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
}

function startCli(args: string[], env: NodeJS.ProcessEnv, readyText: string): Promise<Started> {
  const child = spawn(process.execPath, [cli, ...args], { env, cwd: root });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (output.includes(readyText)) {
        clearInterval(poll);
        resolve({ child, output: () => output });
      } else if (child.exitCode !== null) {
        clearInterval(poll);
        reject(new Error(`groq-governor ${args[0]} exited early:\n${output}`));
      }
    }, 200);
  });
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, args, { env, cwd: root, maxBuffer: 1 << 22 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function stop(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals = 'SIGINT') {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}

async function complete(port: number, apiKey: string) {
  const groq = new Groq({ baseURL: `http://127.0.0.1:${port}`, apiKey, maxRetries: 0 });
  return groq.chat.completions.create({
    model: 'llama-3.1-8b-instant',
    messages: [{ role: 'user', content: 'hello' }],
    max_completion_tokens: 16,
  });
}

/** The dev server `up` started on `port` (found by its command line; it outlives a kill -9 of up). */
function devServerPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline.includes('start-dev') && cmdline[cmdline.indexOf('--port') + 1] === String(port))
        return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

const began = Date.now();
/** progress on stderr, so a slow run shows where its time went */
function step(what: string): void {
  process.stderr.write(`[up-shared-ledger] ${((Date.now() - began) / 1000).toFixed(1)} s: ${what}\n`);
}

describe('groq-governor up shares its embedded ledger', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gg-up-shared-'));
  const children: ChildProcessWithoutNullStreams[] = [];
  let emulator: RunningEmulator | undefined;
  let temporalPid: number | undefined;
  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // the dev server the first `up` started outlived its kill -9 (the second `up` reused it)
    if (temporalPid !== undefined && processAlive(temporalPid)) process.kill(temporalPid, 'SIGTERM');
    await emulator?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the CLI, a second worker and the demo key beside up, and survives kill -9', async () => {
    const { config } = await loadConfigOrThrow(undefined, { dataDir });
    const secrets = config.upstreamKeys.map((key) => ({ name: key.name, secret: generateKeySecret() }));
    emulator = await startEmulator({ config: emulatorConfigFor(config), keys: secrets });
    const temporalPort = await freePortPair();
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: '', GROQ_BASE_URL: emulator.url };
    for (const key of config.upstreamKeys) {
      if (key.secretEnv) env[key.secretEnv] = secrets.find((s) => s.name === key.name)?.secret;
    }
    // the commands other terminals run reach up's Temporal dev server through the environment
    const joinEnv: NodeJS.ProcessEnv = { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}` };
    const upArgs = [
      'up',
      '--data-dir',
      dataDir,
      '--temporal-port',
      String(temporalPort),
      '--port',
      String(port),
    ];

    step('up');
    const first = await startCli(upArgs, env, 'Ready.');
    children.push(first.child);
    temporalPid = devServerPid(temporalPort);
    const printed = first.output();
    expect(printed).toMatch(/served by ledger host \d+ on .*\.s\.PGSQL\.5432/);

    // the demo key, printed once with two commands that work as printed
    const demoKey = /Demo key: (ggk_\S+)/.exec(printed)?.[1];
    expect(demoKey).toMatch(KEY_PATTERN);
    const keysFile = join(dataDir, 'first-run-keys.txt');
    expect(printed).toContain(keysFile);
    expect(statSync(keysFile).mode & 0o777).toBe(0o600);
    const curlLine = printed.split('\n').find((line) => line.trim().startsWith('curl '));
    const nodeLine = printed.split('\n').find((line) => line.trim().startsWith('node --input-type=module'));
    const viaCurl = await run('bash', ['-c', curlLine!.trim()], process.env);
    expect(JSON.parse(viaCurl.stdout)).toMatchObject({ object: 'chat.completion' });
    const viaSdk = await run('bash', ['-c', nodeLine!.trim()], process.env);
    expect(viaSdk.code).toBe(0);
    expect(viaSdk.stdout.trim().length).toBeGreaterThan(0);

    step('keys create');
    // another terminal: keys create while up runs, then a groq-sdk call through the running gateway
    const created = await run(
      process.execPath,
      [cli, 'keys', 'create', '--team', 'chatbot', '--role', 'member', '--data-dir', dataDir],
      env,
    );
    expect(created.stderr).not.toMatch(/in use/);
    expect(created.code).toBe(0);
    const memberKey = KEY_PATTERN.exec(created.stdout)?.[0];
    expect(memberKey).toBeDefined();
    expect((await complete(port, memberKey!)).object).toBe('chat.completion');

    step('keys list');
    const listed = await run(process.execPath, [cli, 'keys', 'list', '--data-dir', dataDir], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('demo key (first run)');
    expect(listed.stdout).toContain('first org-admin key');
    expect(listed.stdout.split('\n').filter((line) => line.startsWith('key_'))).toHaveLength(3);

    step('migrate, keys upstream list');
    const migrated = await run(process.execPath, [cli, 'migrate', '--data-dir', dataDir], env);
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain('applied: none (already up to date)');
    const upstreamKeys = await run(
      process.execPath,
      [cli, 'keys', 'upstream', 'list', '--data-dir', dataDir],
      env,
    );
    expect(upstreamKeys.stderr).not.toMatch(/in use/);
    expect(upstreamKeys.code).toBe(0);

    step('report run');
    const report = await run(process.execPath, [cli, 'report', 'run', '--data-dir', dataDir], joinEnv);
    expect(report.stderr + report.stdout).not.toMatch(/in use/);
    expect(report.code).toBe(0);
    expect(report.stdout).toContain(`Files: ${join(dataDir, 'reports')}`);

    step('second worker');
    // a second worker on the same data folder joins the ledger and polls beside up's worker
    const worker = await startCli(['worker', '--data-dir', dataDir], joinEnv, 'Worker polling.');
    children.push(worker.child);
    expect(worker.output()).toMatch(/Ledger: PGlite at .*, schema version \d+/);
    const answers = await Promise.all(Array.from({ length: 6 }, () => complete(port, memberKey!)));
    expect(answers.every((answer) => answer.object === 'chat.completion')).toBe(true);

    step('kill -9 and restart');
    // kill -9 of up; the next start needs no cleanup and loses nothing
    expect(await stop(first.child, 'SIGKILL')).toBeNull();
    const second = await startCli(upArgs, env, 'Ready.');
    children.push(second.child);
    step('after restart');
    expect(second.output()).toContain(`First-run keys: ${keysFile}`);
    expect(second.output()).not.toContain(demoKey!);
    expect((await complete(port, memberKey!)).object).toBe('chat.completion');
    expect((await complete(port, demoKey!)).object).toBe('chat.completion');
    // the extra worker's pool reconnects to the new host on the same socket: it still serves
    expect(worker.child.exitCode).toBeNull();
    const workerCode = await stop(worker.child);
    expect(
      workerCode,
      worker
        .output()
        .split('\n')
        .filter((line) => !line.startsWith('{"level":30'))
        .join('\n'),
    ).toBe(0);
    expect(await stop(second.child)).toBe(0);
  }, 900_000);
});
