/**
 * A separate worker process for the multi-process test: waits at two barriers (open, then work) so that
 * every process migrates and then reserves / acquires at the same moment. Protocol on stdio, one JSON
 * line each: parent sends "open", child answers {"migrated": [...]}, parent sends "go", child answers
 * {"reserved": n, "admitted": n}.
 */
import { createInterface } from 'node:readline';
import { openLedger } from '../../../ledger/open';

interface Job {
  /** a PostgreSQL URL, or */
  url?: string;
  /** a data folder whose embedded ledger a ledger host serves */
  dataDir?: string;
  worker: number;
  count: number;
  period: string;
  team: string;
  amount: string;
  teamLimit: string;
  bucket: string;
  rpm: number;
  now: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const send = (message: unknown) => process.stdout.write(JSON.stringify(message) + '\n');
const waitFor = async (word: string) => {
  const next = await lines.next();
  if (next.done || next.value.trim() !== word) throw new Error(`expected ${word}`);
};

send({ loaded: job.worker });
await waitFor('open');
const ledger = await openLedger(
  job.dataDir !== undefined
    ? { dataDir: job.dataDir, databaseUrl: null, poolSize: 4 }
    : { databaseUrl: job.url ?? null, poolSize: 4 },
);
send({ migrated: ledger.migrations.applied });
await waitFor('go');
const range = Array.from({ length: job.count }, (_, n) => n);
const [reservations, acquisitions] = await Promise.all([
  Promise.all(
    range.map((n) =>
      ledger.reserve({
        reservationId: `w${job.worker}-r${n}`,
        requestId: `w${job.worker}-q${n}`,
        team: job.team,
        period: job.period,
        amount: BigInt(job.amount),
        teamLimit: BigInt(job.teamLimit),
        orgLimit: null,
      }),
    ),
  ),
  Promise.all(
    range.map((n) =>
      ledger.tryAcquire({
        buckets: [{ key: job.bucket, limits: { rpm: job.rpm } }],
        tokens: 1,
        now: job.now,
        leaseId: `w${job.worker}-l${n}`,
        leaseTtlMs: 60_000,
      }),
    ),
  ),
]);
send({
  reserved: reservations.filter((r) => r.ok).length,
  admitted: acquisitions.filter((a) => a.admitted).length,
});
await ledger.close();
process.stdin.destroy();
