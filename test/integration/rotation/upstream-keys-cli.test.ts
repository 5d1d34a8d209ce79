/**
 * `groq-governor keys upstream add|list` through the command's `run` with a capturing CliIO, on a PGlite
 * data folder: the secret comes from stdin or an environment variable, only its fingerprint is printed,
 * the store on disk holds no clear secret, and the versions resolve as the CLI says.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../../client/cli/commands/upstream-keys';
import type { CliIO } from '../../../client/cli/io';
import { encryptedFileSecretStore, SECRETS_FILE_NAME } from '../../../activities/secret-store';
import { versionedKeyResolver } from '../../../activities/versioned-keys';
import { generateKeySecret } from '../../../emulator';
import { openLedger } from '../../../ledger';

function capture(): CliIO & { text(): string } {
  const lines: string[] = [];
  return { stdout: (t) => lines.push(t), stderr: (t) => lines.push(t), text: () => lines.join('\n') };
}

describe('keys upstream CLI', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gg-upstream-cli-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function cli(argv: string[], stdin = '') {
    const io = capture();
    const code = await run([...argv, '--data-dir', dataDir], io, async () => stdin);
    return { code, text: io.text() };
  }

  it('adds versions from stdin and from an environment variable, printing only fingerprints', async () => {
    const first = generateKeySecret();
    const second = generateKeySecret();
    const added = await cli(['add', 'chatbot-prod-gateway'], `${first}\n`);
    expect(added.code).toBe(0);
    expect(added.text).toContain(`chatbot-prod-gateway version 1 (gsk_…${first.slice(-4)}), active`);
    process.env.GG_TEST_NEW_KEY = second;
    const next = await cli(['add', 'chatbot-prod-gateway', '--from-env', 'GG_TEST_NEW_KEY']);
    delete process.env.GG_TEST_NEW_KEY;
    expect(next.code).toBe(0);
    expect(next.text).toContain('version 2');
    expect(next.text).toContain('next');
    expect(next.text).toContain('groq-governor rotate start chatbot-prod-gateway');
    // the same secret twice is refused
    expect((await cli(['add', 'chatbot-prod-gateway'], first)).code).toBe(1);
    const list = await cli(['list']);
    expect(list.code).toBe(0);
    expect(list.text).toMatch(/chatbot-prod-gateway\s+1\s+active\s+gsk_…/);
    expect(list.text).toMatch(/chatbot-prod-gateway\s+2\s+next\s+gsk_…/);
    for (const output of [added.text, next.text, list.text]) {
      expect(output).not.toContain(first);
      expect(output).not.toContain(second);
      expect(output).not.toContain(first.slice(4, 30));
    }
    const onDisk = await readFile(join(dataDir, SECRETS_FILE_NAME), 'utf8');
    expect(onDisk).not.toContain(first.slice(4, 30));
    // what a worker on this data folder resolves: the active version 1 with its secret
    const ledger = await openLedger({ dataDir });
    try {
      const store = await encryptedFileSecretStore({ dataDir, env: {} });
      const resolved = await versionedKeyResolver({ ledger, store }).resolve('chatbot-prod-gateway');
      expect(resolved).toEqual({ secret: first, version: 1 });
    } finally {
      await ledger.close();
    }
  });

  it('refuses a bad name, a secret that is not a Groq key, and a missing secret, without echoing input', async () => {
    const bad = await cli(['add', 'Chatbot-prod'], generateKeySecret());
    expect(bad.code).toBe(1);
    expect(bad.text).toMatch(/lower-case/);
    const notKey = await cli(['add', 'chatbot-prod-gateway'], 'hunter2-not-a-key');
    expect(notKey.code).toBe(1);
    expect(notKey.text).toMatch(/does not look like a Groq API key/);
    expect(notKey.text).not.toContain('hunter2');
    expect((await cli(['add', 'chatbot-prod-gateway'], '')).code).toBe(1);
    expect((await cli(['add', 'chatbot-prod-gateway', 'gsk_secret_on_argv'])).code).toBe(2);
  });
});
