import { describe, expect, it } from 'vitest';
import { parseEmulatorArgs, run } from '../../../client/cli/commands/emulator';
import type { CliIO } from '../../../client/cli/io';

function capture(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (text) => out.push(text), stderr: (text) => err.push(text) };
}

describe('emulator command arguments', () => {
  it('parses every option, in both --flag value and --flag=value forms', () => {
    const secret = `gsk_${'a'.repeat(52)}`;
    expect(
      parseEmulatorArgs([
        '--port',
        '8088',
        '--host=0.0.0.0',
        '--config',
        'x.yaml',
        '--key',
        `a=${secret}`,
        `--key=b=${secret}`,
        '--latency-ms',
        '50',
      ]),
    ).toEqual({
      help: false,
      options: {
        port: 8088,
        host: '0.0.0.0',
        configFile: 'x.yaml',
        keys: [
          { name: 'a', secret },
          { name: 'b', secret },
        ],
        latencyMs: 50,
      },
    });
  });

  it('rejects bad input with exit code 2', async () => {
    for (const argv of [['--port', 'x'], ['--key', 'nosecret'], ['--wat'], ['--latency-ms']]) {
      const io = capture();
      expect(await run(argv, io)).toBe(2);
      expect(io.err.join('\n')).toContain('groq-governor emulator:');
    }
  });

  it('reports a bad config file with its problems', async () => {
    const io = capture();
    expect(await run(['--config', '/nonexistent/emulator.yaml'], io)).toBe(2);
    expect(io.err.join('\n')).toContain('cannot read /nonexistent/emulator.yaml');
  });

  it('prints the base URL and key names, never the secrets, and stops cleanly', async () => {
    const secret = `gsk_${'Z'.repeat(48)}9876`;
    const io = capture();
    const stop = new AbortController();
    let url = '';
    const code = run(['--port', '0', '--key', `team-x=${secret}`], io, {
      stop: stop.signal,
      onStarted: (started) => {
        url = started;
        stop.abort();
      },
    });
    expect(await code).toBe(0);
    const printed = io.out.join('\n');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(printed).toContain(url);
    expect(printed).toContain('team-x (gsk_…9876)');
    expect(printed).not.toContain(secret);
  });
});
