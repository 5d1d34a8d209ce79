/**
 * `/readyz`: whether this gateway can serve completions now. The ledger answers a query and the Temporal
 * frontend answers `GetSystemInfo`, each within a bound, so a load balancer drains a gateway that lost
 * either. (`/healthz` only says the process is up.)
 */
import type { GatewayDeps } from './deps';

export interface Readiness {
  ok: boolean;
  status: 'ready' | 'not_ready';
  checks: { ledger: string; temporal: string };
}

const TIMEOUT_MS = 2_000;

async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}

export async function readiness(deps: Pick<GatewayDeps, 'ledger' | 'temporal'>): Promise<Readiness> {
  const [ledger, temporal] = await Promise.all([
    check(() => deps.ledger.sql.query('SELECT 1')),
    check(() => deps.temporal.connection.workflowService.getSystemInfo({})),
  ]);
  const ok = ledger === 'ok' && temporal === 'ok';
  return { ok, status: ok ? 'ready' : 'not_ready', checks: { ledger, temporal } };
}
