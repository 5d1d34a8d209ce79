import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeySecret } from '../../../emulator/index';

const root = join(import.meta.dirname, '../../..');

/** Start `groq-governor emulator`, wait for its URL, run `use`, stop it with `signal`. */
async function withCli(
  args: string[],
  signal: NodeJS.Signals,
  use: (url: string) => Promise<void>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['bin/groq-governor.js', 'emulator', ...args], { cwd: root });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    void exited.then(() => reject(new Error(`emulator exited early:\n${output}`)));
  });
  try {
    await use(url);
  } finally {
    child.kill(signal);
  }
  return { code: await exited, output };
}

describe('groq-governor emulator (standalone)', () => {
  it('prints its URL and key names (not secrets), serves, and exits cleanly on SIGTERM', async () => {
    const secret = generateKeySecret();
    const { code, output } = await withCli(
      ['--port', '0', '--key', `cli-team=${secret}`, '--latency-ms', '1'],
      'SIGTERM',
      async (url) => {
        const response = await fetch(`${url}/openai/v1/models`, {
          headers: { authorization: `Bearer ${secret}` },
        });
        expect(response.status).toBe(200);
      },
    );
    expect(code).toBe(0);
    expect(output).toContain('cli-team');
    expect(output).not.toContain(secret);
    expect(output).toContain('stopping (SIGTERM)');
  });

  it('exits cleanly on SIGINT and loads a config file', async () => {
    const { code, output } = await withCli(
      ['--config', 'emulator/emulator.example.yaml'],
      'SIGINT',
      async (url) => {
        const health = (await (await fetch(`${url}/_emulator/health`)).json()) as {
          keys: string[];
          models: string[];
        };
        expect(health.keys).toEqual(['team-search', 'team-support']);
        expect(health.models).toContain('emulator/tiny-test-model');
      },
    );
    expect(code).toBe(0);
    expect(output).toContain('team-search (gsk_…0001)');
  });
});
