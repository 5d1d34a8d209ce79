// RSS of a PGlite on a migrated ledger folder with given start params, after a workload of statements
import { PGlite } from '@electric-sql/pglite';
import { mkdtempSync, cpSync } from 'node:fs'; import { tmpdir } from 'node:os'; import { join } from 'node:path';
const src = process.argv[2]!; const extra = process.argv.slice(3);
const dir = mkdtempSync(join(tmpdir(), 'probe-')); cpSync(src, dir, { recursive: true });
const rss = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const db = await PGlite.create({ dataDir: dir, startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB', ...extra.flatMap((e) => ['-c', e])] });
const opened = rss();
for (let i = 0; i < 3000; i++) await db.query('SELECT count(*) FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.relname = $1', ['budgets']);
console.log(JSON.stringify(extra), 'opened', opened, 'after', rss(), 'wasm MB', (db.Module.HEAPU8.length / 2 ** 20).toFixed(0));
await db.close();
