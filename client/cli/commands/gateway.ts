/**
 * `groq-governor gateway [--port N]`: one HTTP gateway process joining a deployment. Several gateways
 * can run behind a load balancer; they share keys, budgets and rate limits through the ledger.
 */
import { Connection } from '@temporalio/client';
import { buildGateway, clientOn, groqFactoryFor } from '../../services/components';
import { parseFlags, portOption, untilSignal } from '../args';
import type { CliIO } from '../io';
import { PROCESS_FLAGS, prepareProcess } from './process-common';

const USAGE = 'groq-governor gateway [--config FILE] [--data-dir DIR] [--port N] [--host H]';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseFlags(
    argv,
    { ...PROCESS_FLAGS, port: { type: 'string' }, host: { type: 'string' } },
    USAGE,
    io,
  );
  if (!parsed) return 2;
  let port: number;
  try {
    port = portOption(parsed.values.port, 'GOVERNOR_PORT', 8080);
  } catch (error) {
    io.stderr(`${(error as Error).message}\nusage: ${USAGE}`);
    return 2;
  }
  const base = await prepareProcess(parsed.values, io);
  if (!base) return 1;
  const connection = await Connection.connect(base.target.connectionOptions);
  const gateway = await buildGateway({
    client: clientOn(connection, base.target, base.dataConverter),
    config: base.config,
    ledger: base.ledger,
    groq: groqFactoryFor(base.upstream),
    logger: base.logger,
    port,
    ...(parsed.values.host ? { host: parsed.values.host } : {}),
  });
  io.stdout(`Gateway: ${gateway.url}  (OpenAI base URL: ${gateway.url}/openai/v1)`);
  await untilSignal();
  await gateway.close();
  await connection.close();
  await base.ledger.close();
  return 0;
}
