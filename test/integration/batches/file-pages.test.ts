// The ledger side of batch files in pages (PGlite in memory): files stored before chunks existed are
// moved into chunks by migration 0010 and read back unchanged, line by line too; validation in pages
// finds exactly what validating the whole file at once finds, whatever the page size, also when an
// attempt is cut off and the next one resumes it from its last page.
import { afterEach, describe, expect, it } from 'vitest';
import { storeValidLines } from '../../../activities/batch/validate-pages';
import { validateBatchLines, type BatchRules } from '../../../domain/batch-lines';
import { fileChunks, fileLines, CHUNK_CHARS } from '../../../ledger/batch-file-chunks';
import { BatchStore, batchItems } from '../../../ledger/batches';
import { loadMigrations, migrate } from '../../../ledger/migrate';
import { openLedger, type LedgerStore } from '../../../ledger';
import { testConfig } from '../../support/completion-stack';
import { batchLine } from './support';

const RULES: BatchRules = { allowedModels: ['llama-3.1-8b-instant'], maxTokensPerRequest: 256 };

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe('batch files in the ledger', () => {
  let ledger: LedgerStore | undefined;
  afterEach(async () => {
    await ledger?.close();
    ledger = undefined;
  });

  it('moves files stored whole (before migration 0010) into chunks, unchanged', async () => {
    ledger = await openLedger({ inMemory: true, migrate: false });
    const migrations = await loadMigrations();
    await migrate(ledger.sql, { migrations: migrations.filter((m) => m.version < 10) });
    const big = Array.from({ length: 4000 }, (_, n) =>
      batchLine(`old-${n}`, `é😀 ${n} ${'z'.repeat(n % 90)}`),
    ).join('\n');
    expect(big.length).toBeGreaterThan(2 * CHUNK_CHARS);
    const old = { small: `${batchLine('a', 'hi')}\n\n${batchLine('b', 'there')}\n`, empty: '', big };
    for (const [id, content] of Object.entries(old)) {
      await ledger.sql.query(
        `INSERT INTO batch_files (id, kind, purpose, filename, team, gateway_key_id, bytes, content)
         VALUES ($1, 'input', 'batch', 'old.jsonl', 'alpha', 'k', $2, $3)`,
        [id, Buffer.byteLength(content), content],
      );
    }
    expect((await migrate(ledger.sql, { migrations })).applied).toContain(10);

    for (const [id, content] of Object.entries(old)) {
      const chunks = await collect(fileChunks(ledger.sql, id));
      expect(chunks.join('')).toBe(content);
      // chunks of at most CHUNK_CHARS characters (code points: PostgreSQL's substr never cuts a pair)
      for (const chunk of chunks) expect([...chunk].length).toBeLessThanOrEqual(CHUNK_CHARS);
      const lines = await collect(fileLines(ledger.sql, id, 1));
      expect(lines.map((line) => line.text)).toEqual(content.split('\n'));
      expect(lines.map((line) => line.line)).toEqual(content.split('\n').map((_, n) => n + 1));
    }
    expect(await new BatchStore(ledger.sql).getFile('big')).toMatchObject({
      kind: 'input',
      bytes: Buffer.byteLength(big),
    });
  });

  it('validates in pages exactly as the whole file at once, also when an attempt cut off is resumed', async () => {
    ledger = await openLedger({ inMemory: true });
    const store = new BatchStore(ledger.sql);
    const bad = (custom: string, patch: Record<string, unknown>) =>
      JSON.stringify({ ...JSON.parse(batchLine(custom, 'x')), ...patch });
    const lines: string[] = [];
    for (let n = 0; n < 60; n++) {
      lines.push(batchLine(`id-${n % 47}`, `line ${n}`)); // duplicates across pages
      if (n % 7 === 0) lines.push('');
      if (n % 11 === 0) lines.push('{not json');
      if (n % 13 === 0) lines.push(bad(`claimed-${n}`, { method: 'GET' })); // a bad line claims its id
      if (n % 13 === 1) lines.push(batchLine(`claimed-${n - 1}`, 'dup of a bad line'));
      if (n % 17 === 0) lines.push(bad(`id-${n % 47}`, { url: '/v1/embeddings' })); // duplicate first
    }
    const content = lines.join('\n');
    const expected = validateBatchLines(content, RULES);
    await store.createInputFile({
      id: 'file_pages',
      filename: 'p.jsonl',
      purpose: 'batch',
      team: 'alpha',
      gatewayKeyId: 'k',
      content,
    });
    const pricing = testConfig().pricing;
    for (const [index, pageLines] of [1, 4, 1000].entries()) {
      const batchId = `batch_pages_${index}`;
      await store.createBatch({
        id: batchId,
        team: 'alpha',
        gatewayKeyId: 'k',
        inputFileId: 'file_pages',
        endpoint: '/v1/chat/completions',
        completionWindow: '1h',
        windowMs: 3_600_000,
        mode: 'realtime',
        skipInvalidLines: true,
        metadata: null,
        now: new Date(),
      });
      const rules = { ...RULES, pricing, batchPrice: false };
      const pages = { lines: pageLines, chars: 1 << 30 };
      const check = async (stored: Awaited<ReturnType<typeof storeValidLines>>) => {
        expect(stored.errors).toEqual(expected.errors);
        expect(stored.total).toBe(expected.lines.length);
        const items = await collect(batchItems(ledger!.sql, batchId));
        expect(items.map((item) => [item.seq, item.customId])).toEqual(
          expected.lines.map((line, seq) => [seq, line.customId]),
        );
        expect(stored.models).toEqual(new Set(['llama-3.1-8b-instant']));
      };
      // the whole file in one attempt
      const whole = await storeValidLines(store, batchId, fileLines(ledger.sql, 'file_pages'), rules, pages);
      expect(whole.resumedAt).toBe(1);
      await check(whole);
      // an attempt cut off after 60 lines (its activity timed out), then one that resumes it
      await store.clearItems(batchId);
      async function* cutOff() {
        for await (const line of fileLines(ledger!.sql, 'file_pages')) {
          if (line.line > 60) throw new Error('cut off');
          yield line;
        }
      }
      await expect(storeValidLines(store, batchId, cutOff(), rules, pages)).rejects.toThrow('cut off');
      const resumed = await storeValidLines(
        store,
        batchId,
        fileLines(ledger.sql, 'file_pages'),
        rules,
        pages,
      );
      if (pageLines < 1000) expect(resumed.resumedAt).toBeGreaterThan(1);
      await check(resumed);
    }
  });

  it('after analyzeItems the planner knows a large batch and reads its pending items in key order', async () => {
    ledger = await openLedger({ inMemory: true });
    const store = new BatchStore(ledger.sql);
    const n = 20_000;
    await store.createInputFile({
      id: 'file_big',
      filename: 'big.jsonl',
      purpose: 'batch',
      team: 'alpha',
      gatewayKeyId: 'k',
      content: '',
    });
    await store.createBatch({
      id: 'batch_big',
      team: 'alpha',
      gatewayKeyId: 'k',
      inputFileId: 'file_big',
      endpoint: '/v1/chat/completions',
      completionWindow: '1h',
      windowMs: 3_600_000,
      mode: 'realtime',
      skipInvalidLines: false,
      metadata: null,
      now: new Date(),
    });
    const body = { model: 'llama-3.1-8b-instant', messages: [{ role: 'user', content: 'hi' }] };
    for (let first = 0; first < n; first += 5_000) {
      const page = Array.from({ length: 5_000 }, (_, k) => ({
        line: first + k + 1,
        customId: `c-${first + k}`,
        body,
      }));
      await store.storeItemPage('batch_big', first, page, {
        nextLine: first + 5_001,
        total: first + 5_000,
        errors: [],
        badIds: new Set(),
        models: new Set(['llama-3.1-8b-instant']),
        worstNanos: 0n,
      });
    }
    // the page query of a run (pendingBatchItems), as the planner sees it
    const plan = async () => {
      const { rows } = await ledger!.sql.query<{ 'QUERY PLAN': unknown }>(
        `EXPLAIN (FORMAT JSON) SELECT seq FROM batch_items
          WHERE batch_id = 'batch_big' AND seq >= 100 AND state = 'pending' ORDER BY seq LIMIT 1000`,
      );
      const raw = rows[0]!['QUERY PLAN'];
      return JSON.stringify(typeof raw === 'string' ? JSON.parse(raw) : raw);
    };
    // freshly stored: the planner takes the batch for a few rows, scans it all and sorts
    expect(await plan()).toContain('"Node Type":"Sort"');
    await store.analyzeItems();
    const after = await plan();
    expect(after).toContain('"Node Type":"Index Scan"');
    expect(after).not.toContain('"Node Type":"Sort"');
  });
});
