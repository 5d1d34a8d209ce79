/**
 * Upstream (Groq) keys are resolved by name inside activities, at the moment of the call, so no secret
 * ever travels through workflow inputs, results or history. Names follow `{team}-{env}-{purpose}`.
 */
export interface ResolvedKey {
  secret: string;
  /** which version of the named key this is (rotation keeps several); 1 when there is only one */
  version: number;
}

export interface UpstreamKeyResolver {
  resolve(keyName: string): Promise<ResolvedKey>;
  /**
   * Groq answered 401 for this version: mark it suspect (so new requests avoid it) and say whether
   * another valid version exists to fail over to. Resolvers with one version per name have none.
   */
  rejected?(keyName: string, version: number): Promise<{ failover: boolean }>;
}

export class UnknownUpstreamKeyError extends Error {
  constructor(readonly keyName: string) {
    super(`no secret is available for upstream key "${keyName}"`);
    this.name = 'UnknownUpstreamKeyError';
  }
}

/** Keys held in memory, e.g. the ones `up` registers with the emulator it starts. */
export function staticKeyResolver(secrets: ReadonlyMap<string, string>, version = 1): UpstreamKeyResolver {
  return {
    async resolve(keyName) {
      const secret = secrets.get(keyName);
      if (secret === undefined) throw new UnknownUpstreamKeyError(keyName);
      return { secret, version };
    },
  };
}

/**
 * Keys from environment variables: the variable a key names in the config (`secretEnv`), else
 * GROQ_API_KEY as the one key for every name.
 */
export function envKeyResolver(
  secretEnvByName: ReadonlyMap<string, string | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): UpstreamKeyResolver {
  return {
    async resolve(keyName) {
      const variable = secretEnvByName.get(keyName);
      const secret = (variable ? env[variable] : undefined) ?? env.GROQ_API_KEY;
      if (!secret) throw new UnknownUpstreamKeyError(keyName);
      return { secret, version: 1 };
    },
  };
}
