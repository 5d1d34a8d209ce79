/**
 * The ledger host prepares each statement text once for all its clients (ledger/host/prepared.ts):
 * clients still get their own answers, PGlite keeps one statement per text (not one per use or per
 * client), a text that fails to parse fails for its client only, a schema change is seen by the next
 * query, and clients' own named statements keep working.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serveLedger, type LedgerServer } from '../../../ledger/host/server';
import { firstColumns, RawClient, wire } from './raw-wire-client';

const PASSWORD = 'secret';
const folders: string[] = [];
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe("the ledger host's prepared statements", () => {
  let db: PGlite;
  let server: LedgerServer;
  let dir: string;
  const clients: pg.Client[] = [];
  const connect = async () => {
    const client = new pg.Client({
      host: dir,
      port: 5432,
      user: 'postgres',
      database: 'postgres',
      password: PASSWORD,
    });
    client.on('error', () => undefined);
    await client.connect();
    clients.push(client);
    return client;
  };
  /** the statements the host prepared, as PGlite lists them */
  const hostStatements = async (client: pg.Client) =>
    (
      await client.query<{ statement: string }>(
        "SELECT statement FROM pg_prepared_statements WHERE name LIKE 'gg_host_%' ORDER BY statement",
      )
    ).rows.map((row) => row.statement);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gg-host-prep-'));
    folders.push(dir);
    db = await PGlite.create();
    server = await serveLedger(db, { listen: { path: join(dir, '.s.PGSQL.5432') }, password: PASSWORD });
    await (await connect()).query('CREATE TABLE t (n int PRIMARY KEY, label text)');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
    await server.close();
    await db.close();
  });

  it('four clients running three statements 100 times each get their own answers from three prepared statements', async () => {
    const texts = [
      'INSERT INTO t (n, label) VALUES ($1, $2) RETURNING n',
      'SELECT label FROM t WHERE n = $1',
      'UPDATE t SET label = label || $2 WHERE n = $1 RETURNING label',
    ];
    const connections = await Promise.all(Array.from({ length: 4 }, () => connect()));
    await Promise.all(
      connections.map(async (client, c) => {
        for (let i = 0; i < 100; i++) {
          const n = c * 1000 + i;
          expect((await client.query(texts[0] as string, [n, `c${c}`])).rows).toEqual([{ n }]);
          expect((await client.query(texts[1] as string, [n])).rows).toEqual([{ label: `c${c}` }]);
          expect((await client.query(texts[2] as string, [n, `-${i}`])).rows).toEqual([
            { label: `c${c}-${i}` },
          ]);
        }
      }),
    );
    // (the listing itself has no parameters: `pg` sends it as a simple query, which is never prepared)
    expect(await hostStatements(connections[0] as pg.Client)).toEqual([...texts].sort());
  });

  it('a text that does not parse fails for its client, is not kept, and the client goes on', async () => {
    const client = await connect();
    await expect(client.query('SELEC $1::int', [1])).rejects.toThrow(/syntax error/);
    await expect(client.query('SELECT $1::int + missing FROM t', [1])).rejects.toThrow(/missing/);
    expect((await client.query('SELECT $1::int + 1 AS x', [1])).rows).toEqual([{ x: 2 }]);
    const kept = await hostStatements(client);
    expect(kept.filter((text) => text.includes('SELEC ') || text.includes('missing'))).toEqual([]);
  });

  it('the same text in one pipeline and across a Parse cut from its Bind runs against the right statement', async () => {
    const raw = await RawClient.open(join(dir, '.s.PGSQL.5432'), PASSWORD);
    try {
      // first sight of the text and its second use in one write
      raw.write(
        Buffer.concat([
          wire.extended('SELECT $1::text AS v', ['one']),
          wire.extended('SELECT $1::text AS v', ['two']),
        ]),
      );
      expect(firstColumns(await raw.readUntilReady(2))).toEqual(['one', 'two']);
      // a known text parsed in one write, bound and run in the next
      raw.write(Buffer.concat([wire.parse('SELECT $1::text AS v'), wire.bind(['three'])]));
      expect((await raw.read(2)).map((m) => m.type)).toEqual(['1', '2']);
      raw.write(Buffer.concat([wire.describePortal(), wire.execute(), wire.sync()]));
      expect(firstColumns(await raw.readUntilReady(1))).toEqual(['three']);
    } finally {
      raw.destroy();
    }
  });

  it('after a schema change a prepared text answers with the new columns, and the old statements are gone', async () => {
    const client = await connect();
    await client.query('INSERT INTO t (n, label) VALUES ($1, $2)', [1, 'one']);
    const select = 'SELECT * FROM t WHERE n = $1';
    expect((await client.query(select, [1])).rows).toEqual([{ n: 1, label: 'one' }]);
    const oldName = (
      await client.query<{ name: string }>(
        `SELECT name FROM pg_prepared_statements WHERE statement = '${select}' AND name LIKE 'gg_host_%'`,
      )
    ).rows[0]?.name;
    expect(oldName).toBeDefined();
    // a migration: a script over the simple query protocol
    await client.query("ALTER TABLE t ADD COLUMN extra text NOT NULL DEFAULT 'x'");
    expect((await client.query(select, [1])).rows).toEqual([{ n: 1, label: 'one', extra: 'x' }]);
    // prepared again once since the change, under a new name; the old ones deallocated
    const names = (
      await client.query<{ name: string; statement: string }>(
        "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'gg_host_%'",
      )
    ).rows;
    expect(names.map((row) => row.statement)).toEqual([select]);
    expect(names[0]?.name).not.toBe(oldName);
  });

  it("clients' own named statements are theirs", async () => {
    const client = await connect();
    for (let i = 0; i < 3; i++)
      expect(
        (await client.query({ name: 'mine', text: 'SELECT $1::int * 2 AS x', values: [i] })).rows,
      ).toEqual([{ x: i * 2 }]);
    const named = await client.query<{ name: string }>(
      "SELECT name FROM pg_prepared_statements WHERE name = 'mine'",
    );
    expect(named.rows).toHaveLength(1);
  });
});
