/**
 * Activities behind the `selfCheck` workflow: prove the ledger and the upstream answer. Built by a
 * factory from the dependencies the worker wires in, so tests can hand in real or fake ones.
 */
export interface SelfCheckDeps {
  /** the newest applied ledger migration */
  ledgerSchemaVersion(): Promise<number>;
  /** model ids the upstream (Groq or the emulator) lists for the given upstream key name */
  listUpstreamModels(keyName: string): Promise<string[]>;
}

export interface UpstreamProbe {
  ok: boolean;
  models: number;
  /** why the probe failed; never contains key material */
  error?: string;
}

export function createSelfCheckActivities(deps: SelfCheckDeps) {
  return {
    async checkLedger(): Promise<number> {
      return deps.ledgerSchemaVersion();
    },
    /** A failed probe is a result, not a thrown error: the workflow decides how long to keep trying. */
    async probeUpstream(keyName: string): Promise<UpstreamProbe> {
      try {
        const models = await deps.listUpstreamModels(keyName);
        return { ok: true, models: models.length };
      } catch (error) {
        const status = (error as { status?: number }).status;
        return {
          ok: false,
          models: 0,
          error: `${status ? `HTTP ${status}: ` : ''}${(error as Error).message}`,
        };
      }
    },
  };
}

export type SelfCheckActivities = ReturnType<typeof createSelfCheckActivities>;
