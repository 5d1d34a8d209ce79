/** The keys a new data folder starts with (client/services/first-run-keys.ts). */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoCommands, ensureFirstRunKeys } from '../../../client/services/first-run-keys';
import { authenticate, issueKey } from '../../../client/services/gateway-keys';
import { openLedger } from '../../../ledger/open';
import { testConfig } from '../../support/test-config';

describe('first-run keys', () => {
  const folders: string[] = [];
  const folder = () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-first-run-'));
    folders.push(dir);
    return dir;
  };
  afterAll(() => folders.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const config = testConfig();

  it('issues an org-admin and a demo member key once, in a file only its owner reads', async () => {
    const dataDir = folder();
    const ledger = await openLedger({ inMemory: true });
    try {
      const first = await ensureFirstRunKeys({ ledger, config, dataDir });
      if (first.kind !== 'created') throw new Error(`expected created, got ${first.kind}`);
      expect(first.admin.record.role).toBe('org-admin');
      expect(first.demo?.issued.record).toMatchObject({ role: 'member', team: 'alpha' });
      expect(first.demo?.model).toBe('llama-3.1-8b-instant');
      expect(statSync(first.path).mode & 0o777).toBe(0o600);
      const text = readFileSync(first.path, 'utf8');
      expect(text).toContain(first.admin.key);
      expect(text).toContain(first.demo!.issued.key);
      // both keys authenticate
      expect((await authenticate(ledger, `Bearer ${first.admin.key}`)).ok).toBe(true);
      expect((await authenticate(ledger, `Bearer ${first.demo!.issued.key}`)).ok).toBe(true);

      // a later start: only where the file is
      expect(await ensureFirstRunKeys({ ledger, config, dataDir })).toEqual({
        kind: 'exists',
        path: first.path,
      });
      // the file deleted and keys in the ledger: nothing new is issued
      rmSync(first.path);
      expect(await ensureFirstRunKeys({ ledger, config, dataDir })).toEqual({ kind: 'none' });
    } finally {
      await ledger.close();
    }
  });

  it('leaves a ledger that already holds keys alone', async () => {
    const ledger = await openLedger({ inMemory: true });
    try {
      await issueKey(ledger, 'operator', { team: 'alpha', role: 'member' }, config);
      expect(await ensureFirstRunKeys({ ledger, config, dataDir: folder() })).toEqual({ kind: 'none' });
    } finally {
      await ledger.close();
    }
  });

  it('prints commands with the gateway URL, the key and an allowed model', () => {
    const { curl, groqSdk } = demoCommands('http://127.0.0.1:8080', 'ggk_abc_def', 'llama-3.1-8b-instant');
    expect(curl).toContain('http://127.0.0.1:8080/openai/v1/chat/completions');
    expect(curl).toContain("'Authorization: Bearer ggk_abc_def'");
    expect(groqSdk).toContain("baseURL: 'http://127.0.0.1:8080', apiKey: 'ggk_abc_def'");
    expect(groqSdk).toContain("model: 'llama-3.1-8b-instant'");
  });
});
