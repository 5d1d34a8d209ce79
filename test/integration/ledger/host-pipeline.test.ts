/**
 * The ledger host runs every message a connection has buffered in one PGlite call (ledger/host/server.ts).
 * These tests send what `pg` never sends (whole pipelines in one write, a query cut before its Sync, a
 * Terminate behind a pipeline) from bare wire clients, and check that two clients still never interleave
 * inside PGlite, that a connection dropped mid-pipeline is rolled back, and that the host keeps no copy
 * of the answers it relays.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { serveLedger, type LedgerServer } from '../../../ledger/host/server';
import { errorCodes, firstColumns, RawClient, wire } from './raw-wire-client';

const PASSWORD = 'secret';
const folders: string[] = [];
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('the ledger host with pipelined clients', () => {
  let db: PGlite;
  let server: LedgerServer;
  let socketPath: string;
  const clients: RawClient[] = [];
  const open = async () => {
    const client = await RawClient.open(socketPath, PASSWORD);
    clients.push(client);
    return client;
  };
  const count = async (client: RawClient) => {
    client.write(wire.extended('SELECT count(*)::text FROM t', []));
    return firstColumns(await client.readUntilReady(1))[0];
  };

  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-host-pipe-'));
    folders.push(dir);
    socketPath = join(dir, '.s.PGSQL.5432');
    db = await PGlite.create();
    server = await serveLedger(db, { listen: { path: socketPath }, password: PASSWORD });
    const setup = await open();
    setup.write(wire.query('CREATE TABLE t (n int)'));
    await setup.readUntilReady(1);
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await server.close();
    await db.close();
  });

  it("two clients' pipelines, each sent in one write, come back whole, in order and unmixed", async () => {
    const [a, b] = [await open(), await open()];
    const values = (who: string) => Array.from({ length: 50 }, (_, i) => `${who}-${i}`);
    const pipeline = (who: string) =>
      Buffer.concat(values(who).map((v) => wire.extended('SELECT $1::text || $2::text', [v, ''])));
    a.write(pipeline('a'));
    b.write(pipeline('b'));
    const [fromA, fromB] = await Promise.all([a.readUntilReady(50), b.readUntilReady(50)]);
    expect(firstColumns(fromA)).toEqual(values('a'));
    expect(firstColumns(fromB)).toEqual(values('b'));
    expect(errorCodes([...fromA, ...fromB])).toEqual([]);
  });

  it("a query cut before its Sync keeps PGlite: another client's pipeline waits and never sees its statement", async () => {
    const [a, b] = [await open(), await open()];
    // A runs a whole query, then parses and binds its next statement (the unnamed one) and stops before
    // Describe/Execute/Sync: the answer to its write has ReadyForQuery idle, but not at its end
    a.write(
      Buffer.concat([
        wire.extended('SELECT $1::text', ['a-0']),
        wire.parse('SELECT $1::text AS mine'),
        wire.bind(['from-a']),
      ]),
    );
    expect(firstColumns(await a.readUntilReady(1))).toEqual(['a-0']);
    expect((await a.read(2)).map((m) => m.type)).toEqual(['1', '2']);
    // B's whole pipeline arrives meanwhile; had it run, it would replace A's unnamed statement and portal
    b.write(
      Buffer.concat([wire.extended('SELECT $1::text', ['b-1']), wire.extended('SELECT $1::text', ['b-2'])]),
    );
    const fromB = b.readUntilReady(2);
    a.write(Buffer.concat([wire.describePortal(), wire.execute(), wire.sync()]));
    expect(firstColumns(await a.readUntilReady(1))).toEqual(['from-a']);
    expect(firstColumns(await fromB)).toEqual(['b-1', 'b-2']);
  });

  it('a transaction sent as pipelines holds PGlite until COMMIT: a pipelining reader sees none or all of it', async () => {
    const [a, b] = [await open(), await open()];
    a.write(
      Buffer.concat([
        wire.query('BEGIN'),
        wire.extended('INSERT INTO t VALUES ($1::int)', ['1']),
        wire.extended('INSERT INTO t VALUES ($1::int)', ['2']),
      ]),
    );
    const begun = await a.readUntilReady(3);
    expect(begun.filter((m) => m.type === 'Z').map((m) => m.body.toString())).toEqual(['T', 'T', 'T']);
    b.write(
      Buffer.concat(Array.from({ length: 3 }, () => wire.extended('SELECT count(*)::text FROM t', []))),
    );
    const counts = b.readUntilReady(3);
    a.write(Buffer.concat([wire.extended('INSERT INTO t VALUES ($1::int)', ['3']), wire.query('COMMIT')]));
    await a.readUntilReady(2);
    expect(firstColumns(await counts)).toEqual(['3', '3', '3']);
  });

  it('a connection dropped mid-pipeline, inside a transaction and inside a message, is rolled back', async () => {
    const [a, b] = [await open(), await open()];
    const half = wire.extended('INSERT INTO t VALUES ($1::int)', ['9']).subarray(0, 7);
    a.write(
      Buffer.concat([
        wire.query('BEGIN'),
        wire.extended('INSERT INTO t VALUES ($1::int)', ['7']),
        wire.parse('INSERT INTO t VALUES ($1::int)'),
        wire.bind(['8']),
        wire.execute(),
        half,
      ]),
    );
    // BEGIN and the first insert answered, the second insert ran without its Sync
    await a.readUntilReady(2);
    expect((await a.read(3)).map((m) => m.type)).toEqual(['1', '2', 'C']);
    const waiting = count(b);
    a.destroy();
    expect(await waiting).toBe('0');
    // and the host is free for the next statement
    b.write(wire.extended('INSERT INTO t VALUES ($1::int)', ['1']));
    await b.readUntilReady(1);
    expect(await count(b)).toBe('1');
  });

  it('an error inside a pipeline fails its own query only, and a Terminate behind a pipeline ends the connection after it', async () => {
    const [a, b] = [await open(), await open()];
    a.write(
      Buffer.concat([
        wire.extended('SELECT $1::text', ['one']),
        wire.extended('SELECT 1/0', []),
        wire.extended('SELECT $1::text', ['three']),
        wire.terminate(),
      ]),
    );
    const answers = await a.readUntilReady(3);
    expect(firstColumns(answers)).toEqual(['one', 'three']);
    expect(errorCodes(answers)).toEqual(['22012']);
    await a.closed();
    expect(await count(b)).toBe('0');
  });

  it('relays the backend answers without PGlite keeping a copy of them (execProtocolRaw keeps every one)', async () => {
    const raw = vi.spyOn(db, 'execProtocolRaw');
    const a = await open();
    // the host prepares the text at its first sight, in a call of its own
    a.write(wire.extended('SELECT $1::text', ['first']));
    await a.readUntilReady(1);
    const streamed = vi.spyOn(db, 'execProtocolRawStream');
    a.write(Buffer.concat(Array.from({ length: 20 }, (_, i) => wire.extended('SELECT $1::text', [`${i}`]))));
    expect(firstColumns(await a.readUntilReady(20))).toHaveLength(20);
    expect(raw).not.toHaveBeenCalled();
    // one call per piece of the pipeline the socket delivered (one write: one piece, barring a split by
    // the kernel), never one per message or per query
    expect(streamed.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(streamed.mock.calls.length).toBeLessThanOrEqual(2);
  });
});
