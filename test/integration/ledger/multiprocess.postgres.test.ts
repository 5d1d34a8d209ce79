/**
 * Several worker processes against one PostgreSQL database: they migrate the empty database at the same
 * moment, then reserve against one budget and acquire from one rate bucket at the same moment. Budgets
 * and limits hold across processes, not just across connections. Skipped loudly without PostgreSQL.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { openLedger } from '../../../ledger/open';
import { startWorker, type Worker } from './child-workers';
import { postgresTarget, probePostgres, testDatabaseUrl, warnPostgresSkipped } from './harness';

const url = testDatabaseUrl();
const unavailable = await probePostgres(url);
if (unavailable) warnPostgresSkipped(url, unavailable);

const WORKERS = 4;
const PER_WORKER = 60;
const AMOUNT = 7_777_777n;
const FITS = 50n;
const RPM = 37;

describe.skipIf(unavailable !== null)('ledger across processes on postgres', () => {
  const target = postgresTarget(url, 4);
  const workers: Worker[] = [];
  afterAll(async () => {
    for (const worker of workers) worker.child.kill();
    await target.cleanup();
  });

  it(`${WORKERS} processes: one migrates, budgets and rate limits hold across all of them`, async () => {
    const { databaseUrl } = await target.fresh();
    const job = {
      url: databaseUrl,
      count: PER_WORKER,
      period: '2026-11',
      team: 'chatbot',
      amount: AMOUNT.toString(),
      teamLimit: (AMOUNT * FITS).toString(),
      bucket: 'model:llama-3.1-8b-instant',
      rpm: RPM,
      now: Date.UTC(2026, 10, 2, 10, 0, 1),
    };
    for (let worker = 0; worker < WORKERS; worker++) workers.push(startWorker({ ...job, worker }));
    for (const worker of workers) expect(await worker.next()).toHaveProperty('loaded');

    for (const worker of workers) worker.send('open');
    const migrated = await Promise.all(workers.map((worker) => worker.next()));
    const applied = migrated.map((m) => m.migrated as number[]);
    expect(applied.filter((list) => list.length > 0)).toHaveLength(1);

    for (const worker of workers) worker.send('go');
    const results = await Promise.all(workers.map((worker) => worker.next()));
    const reserved = results.reduce((sum, r) => sum + Number(r.reserved), 0);
    const admitted = results.reduce((sum, r) => sum + Number(r.admitted), 0);
    expect(reserved).toBe(Number(FITS));
    expect(admitted).toBe(RPM);

    const ledger = await openLedger({ databaseUrl: databaseUrl ?? null });
    try {
      expect((await ledger.getTeamSpend('chatbot', '2026-11')).held).toBe(AMOUNT * FITS);
      expect(
        (await ledger.getRateBucket('model:llama-3.1-8b-instant', job.now))?.windows.minuteRequests,
      ).toBe(RPM);
    } finally {
      await ledger.close();
    }
  });
});
