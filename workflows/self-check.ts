/**
 * `selfCheck`: the smallest real piece of work the stack does end to end. It reads the ledger's schema
 * version and probes the upstream with a named key, waiting durably between probes while the upstream
 * is not ready yet (as at start-up). `groq-governor up` runs it once the worker is polling.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { SelfCheckActivities } from '../activities/self-check';

export interface SelfCheckInput {
  /** upstream key name to probe with, e.g. "platform-dev-selfcheck" */
  keyName: string;
  /** probes before giving up (default 5) */
  maxProbes?: number;
  /** durable wait between probes (default 30 seconds) */
  probeInterval?: Duration;
}

export interface SelfCheckResult {
  ledgerSchemaVersion: number;
  upstream: { ok: boolean; models: number; probes: number; error?: string };
  /** workflow time, ms since epoch */
  startedAt: number;
  finishedAt: number;
}

const { checkLedger, probeUpstream } = proxyActivities<SelfCheckActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

export async function selfCheck(input: SelfCheckInput): Promise<SelfCheckResult> {
  const startedAt = Date.now();
  const maxProbes = Math.max(1, input.maxProbes ?? 5);
  const ledgerSchemaVersion = await checkLedger();
  let probes = 0;
  for (;;) {
    probes += 1;
    const probe = await probeUpstream(input.keyName);
    if (probe.ok || probes >= maxProbes) {
      return {
        ledgerSchemaVersion,
        upstream: { ...probe, probes },
        startedAt,
        finishedAt: Date.now(),
      };
    }
    await sleep(input.probeInterval ?? '30 seconds');
  }
}
