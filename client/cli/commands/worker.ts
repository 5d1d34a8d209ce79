/**
 * `groq-governor worker`: one worker process joining a deployment (Temporal through envconfig, the
 * ledger through DATABASE_URL, Groq through its key secrets). Run several for capacity; they share
 * rate limits and budgets through the ledger. Ctrl-C drains in-flight work and stops.
 */
import { groqFactoryFor, buildWorker, startWorkerEgress } from '../../services/components';
import { clientOn, scheduleReports } from '../../services/components';
import { startLedgerMaintenance } from '../../../ledger/maintenance';
import { connectWorker } from '../../../workers/worker';
import { parseFlags, untilSignal } from '../args';
import type { CliIO } from '../io';
import { PROCESS_FLAGS, prepareProcess } from './process-common';

const USAGE = 'groq-governor worker [--config FILE] [--data-dir DIR]';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseFlags(argv, PROCESS_FLAGS, USAGE, io);
  if (!parsed) return 2;
  const base = await prepareProcess(parsed.values, io);
  if (!base) return 1;
  const connection = await connectWorker(base.target);
  // a PostgreSQL server without autovacuum: this worker keeps the ledger's busiest tables itself
  const upkeep = await startLedgerMaintenance(base.ledger.sql, { log: io.stdout });
  const egress = await startWorkerEgress(base.ledger, base.upstream, io.stdout);
  const worker = await buildWorker({
    connection,
    target: base.target,
    config: base.config,
    ledger: base.ledger,
    groq: groqFactoryFor(base.upstream, egress),
    dataConverter: base.dataConverter,
    logger: base.logger,
    rotation: base.rotation,
  });
  const done = worker.run();
  await scheduleReports(clientOn(connection, base.target, base.dataConverter), base.config, io.stdout);
  io.stdout('Worker polling. Ctrl-C drains and stops it.');
  const outcome = await Promise.race([
    untilSignal().then(() => 'signal' as const),
    done.then(() => 'stopped' as const),
  ]);
  // the Temporal runtime may already be draining the worker on the same signal
  if (outcome === 'signal' && worker.getState() === 'RUNNING') worker.shutdown();
  await done.catch((error: unknown) => io.stderr(`worker: ${String(error)}`));
  await egress?.close();
  await upkeep.stop();
  await connection.close();
  await base.ledger.close();
  return outcome === 'signal' ? 0 : 1;
}
