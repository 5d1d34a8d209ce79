// The README's start command as a person runs it: `groq-governor up` on embedded defaults brings up the
// dev server (Web UI answering), the ledger, the emulator, a worker and the gateway; a gateway key made
// with the CLI completes a request through the official groq-sdk; Ctrl-C stops everything cleanly; a
// second run keeps the data of the first.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Groq from 'groq-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { freePortPair, freePort } from '../../support/ports';

const cli = new URL('../../../bin/groq-governor.js', import.meta.url).pathname;

function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, DATABASE_URL: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function startUp(
  args: string[],
): Promise<{ child: ChildProcessWithoutNullStreams; output: () => string }> {
  const child = spawn(process.execPath, [cli, 'up', ...args], { env: { ...process.env, DATABASE_URL: '' } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 150_000;
  while (!output.includes('Ready.')) {
    if (child.exitCode !== null) throw new Error(`up exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`up did not get ready:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { child, output: () => output };
}

async function stop(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  return exited;
}

describe('groq-governor up', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gg-up-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts on embedded defaults, serves a governed completion, stops on Ctrl-C, and keeps its data', async () => {
    const created = await run([
      'keys',
      'create',
      '--team',
      'chatbot',
      '--role',
      'member',
      '--data-dir',
      dataDir,
    ]);
    expect(created.code).toBe(0);
    const key = /ggk_[A-Za-z0-9]+_[A-Za-z0-9]+/.exec(created.stdout)?.[0];
    expect(key).toBeDefined();

    const temporalPort = await freePortPair();
    const port = await freePort();
    const args = ['--data-dir', dataDir, '--temporal-port', String(temporalPort), '--port', String(port)];
    const first = await startUp(args);
    expect(first.output()).toContain(`Temporal Web UI:  http://127.0.0.1:${temporalPort + 1000}`);
    expect(first.output()).toMatch(/Self-check: ledger schema v\d+; upstream ok \(\d+ models\)/);
    const ui = await fetch(`http://127.0.0.1:${temporalPort + 1000}/`);
    expect(ui.status).toBe(200);
    // the admin console the README points at, on the gateway's port
    expect(first.output()).toContain(`Admin console:    http://127.0.0.1:${port}/console/`);
    const signIn = await fetch(`http://127.0.0.1:${port}/console/sign-in`);
    expect(signIn.status).toBe(200);
    expect(await signIn.text()).toContain('name="key"');

    const groq = new Groq({ baseURL: `http://127.0.0.1:${port}`, apiKey: key!, maxRetries: 0 });
    const completion = await groq.chat.completions.create({
      model: 'llama-3.1-8b-instant',
      messages: [{ role: 'user', content: 'hello' }],
      max_completion_tokens: 16,
    });
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
    expect(first.output()).not.toContain(key!);

    expect(await stop(first.child)).toBe(0);
    expect(first.output()).toContain('Stopped.');
    expect(existsSync(join(dataDir, 'temporal', 'temporal.sqlite'))).toBe(true);

    // the second run reuses the data folder: the key made before the first run still works
    const second = await startUp(args);
    const again = await groq.chat.completions.create({
      model: 'llama-3.1-8b-instant',
      messages: [{ role: 'user', content: 'hello again' }],
      max_completion_tokens: 16,
    });
    expect(again.object).toBe('chat.completion');
    expect(await stop(second.child)).toBe(0);
  });

  it('refuses a broken config, listing every problem, and starts nothing', async () => {
    const broken = new URL('../../fixtures/config/broken.yaml', import.meta.url).pathname;
    const result = await run([
      'up',
      '--config',
      broken,
      '--data-dir',
      dataDir,
      '--port',
      String(await freePort()),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Nothing was started.');
    expect(result.stderr.split('\n').filter((line) => /^\s+\S.*: /.test(line)).length).toBeGreaterThan(5);
  });

  it("refuses unusable process settings together with the config's problems, and starts nothing", async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'governor-up-settings-'));
    const broken = new URL('../../fixtures/config/broken.yaml', import.meta.url).pathname;
    try {
      const settings = { GOVERNOR_HEAP_GROWING_PERCENT: 'lots', GOVERNOR_WORKFLOW_THREAD: 'yes' };
      const port = String(await freePort());
      const alone = await run(['up', '--data-dir', fresh, '--port', port], settings);
      expect(alone.code).toBe(1);
      expect(alone.stderr).toMatch(/GOVERNOR_HEAP_GROWING_PERCENT must be .*, got "lots"/);
      expect(alone.stderr).toMatch(/GOVERNOR_WORKFLOW_THREAD must be .*, got "yes"/);
      expect(alone.stderr).toContain('Nothing was started.');
      expect(alone.stdout).not.toContain('Temporal');
      expect(existsSync(join(fresh, 'temporal'))).toBe(false);

      const both = await run(['up', '--config', broken, '--data-dir', fresh, '--port', port], settings);
      expect(both.code).toBe(1);
      expect(both.stderr).toMatch(/GOVERNOR_HEAP_GROWING_PERCENT[\s\S]*GOVERNOR_WORKFLOW_THREAD/);
      expect(both.stderr.split('\n').filter((line) => /^\s+\S.*: /.test(line)).length).toBeGreaterThan(5);
      expect(both.stderr).toContain('Nothing was started.');
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
