/** Self-check dependencies for workflow tests: a fixed schema version and an upstream that recovers. */
import type { SelfCheckDeps } from '../../activities/self-check';

export function recoveringUpstream(failuresBeforeReady: number, models: string[] = ['llama-3.1-8b-instant']) {
  const calls: string[] = [];
  const deps: SelfCheckDeps = {
    ledgerSchemaVersion: async () => 7,
    listUpstreamModels: async (keyName) => {
      calls.push(keyName);
      if (calls.length <= failuresBeforeReady) {
        throw Object.assign(new Error('upstream not ready'), { status: 503 });
      }
      return models;
    },
  };
  return { deps, calls };
}
