import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../../client/cli/commands/config';
import type { CliIO } from '../../../client/cli/io';
import { exampleText } from './helpers';

function capture(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (text) => out.push(text), stderr: (text) => err.push(text) };
}

const EXAMPLE = 'config/governor.example.yaml';
const BROKEN = 'test/fixtures/config/broken.yaml';

describe('groq-governor config check', () => {
  it('prints "FILE: ok" and a summary for a valid file, exit 0', async () => {
    const io = capture();
    expect(await run(['check', EXAMPLE], io)).toBe(0);
    const text = io.out.join('\n');
    expect(io.out[0]).toBe(`${EXAMPLE}: ok`);
    expect(text).toContain('monthly cap 2000.00 USD');
    expect(text).toContain('teams (4): chatbot, analytics, research, batch');
    expect(text).toMatch(/models \(8 priced, 7 used by teams\)/);
    expect(text).not.toContain('warnings');
    expect(io.err).toEqual([]);
  });

  it('prints warnings under an ok file, still exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'governor-config-'));
    const file = join(dir, 'warn.yaml');
    writeFileSync(file, exampleText.replace("monthlyBudgetUsd: '500'", "monthlyBudgetUsd: '2500'"));
    const io = capture();
    expect(await run(['check', file], io)).toBe(0);
    const text = io.out.join('\n');
    expect(text).toContain(`${file}: ok`);
    expect(text).toContain('warnings (1):');
    expect(text).toMatch(/ {4}teams\.research\.monthlyBudgetUsd: budget 2500\.00 USD is above/);
  });

  it('prints every problem as "  path: reason" and exits 1', async () => {
    const io = capture();
    expect(await run(['check', BROKEN], io)).toBe(1);
    const [header, ...lines] = io.out.join('\n').split('\n');
    expect(header).toBe(`${BROKEN}: 34 problems`);
    expect(lines).toHaveLength(34);
    for (const line of lines) expect(line).toMatch(/^ {2}\S+: .+$/);
    expect(lines).toContain(
      '  teams.chatbot.maxTokens: unknown field "maxTokens" (did you mean "maxTokensPerRequest"?) (line 38)',
    );
  });

  it('a YAML syntax error is one located line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'governor-config-'));
    const file = join(dir, 'syntax.yaml');
    writeFileSync(file, 'org:\n  name: [Acme\n');
    const io = capture();
    expect(await run(['check', file], io)).toBe(1);
    expect(io.out[0]).toBe(`${file}: 1 problem`);
    expect(io.out[1]).toMatch(/^ {2}line \d+, column \d+: YAML syntax error: /);
  });

  it('a missing file is a problem, exit 1', async () => {
    const io = capture();
    expect(await run(['check', 'no/such/file.yaml'], io)).toBe(1);
    expect(io.out.join('\n')).toContain('(file): cannot read no/such/file.yaml: no such file');
  });

  it('checks several files and fails if any fails', async () => {
    const io = capture();
    expect(await run(['check', EXAMPLE, BROKEN], io)).toBe(1);
    expect(io.out[0]).toBe(`${EXAMPLE}: ok`);
    expect(io.out).toContain(`${BROKEN}: 34 problems`);
  });

  it('usage errors exit 2, help exits 0', async () => {
    for (const argv of [[], ['lint', EXAMPLE], ['check'], ['check', '--strict', EXAMPLE]]) {
      const io = capture();
      expect(await run(argv, io), argv.join(' ')).toBe(2);
      expect(io.err.join('\n')).toContain('usage: groq-governor config check FILE');
      expect(io.out).toEqual([]);
    }
    const io = capture();
    expect(await run(['--help'], io)).toBe(0);
    expect(io.out.join('\n')).toContain('usage: groq-governor config check FILE');
  });

  it('runs as a real process through bin/groq-governor.js', () => {
    const ok = spawnSync(process.execPath, ['bin/groq-governor.js', 'config', 'check', EXAMPLE], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`${EXAMPLE}: ok`);

    const bad = spawnSync(process.execPath, ['bin/groq-governor.js', 'config', 'check', BROKEN], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain(`${BROKEN}: 34 problems`);
    expect(bad.stdout).toContain('  extra: unknown field "extra"');
    expect(bad.stdout + bad.stderr).not.toMatch(/\n\s+at /);

    const usage = spawnSync(process.execPath, ['bin/groq-governor.js', 'config', 'check'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(usage.status).toBe(2);
  });
});
