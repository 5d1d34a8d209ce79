/**
 * Which Groq the stack talks to. The real API when any upstream key has a secret in the environment
 * (the variable the config names for it, or GROQ_API_KEY); otherwise the local emulator, started here
 * with the config's models, prices and limits and one generated key per configured upstream key name.
 */
import { formatUsd } from '../../domain/money';
import type { GovernorConfig } from '../../domain/config';
import { envKeyResolver, staticKeyResolver, type UpstreamKeyResolver } from '../../activities/upstream-keys';
import { startEmulator, type RunningEmulator } from '../../emulator';
import type { EmulatorConfigInput } from '../../emulator';

export interface Upstream {
  kind: 'groq' | 'emulator';
  baseURL: string;
  resolver: UpstreamKeyResolver;
  emulator?: RunningEmulator;
  close(): Promise<void>;
}

export function hasRealGroqKey(config: GovernorConfig, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.GROQ_API_KEY) return true;
  return config.upstreamKeys.some((key) => key.secretEnv !== undefined && Boolean(env[key.secretEnv]));
}

/** The emulator configuration that mirrors a governor configuration: same models, prices and limits. */
export function emulatorConfigFor(config: GovernorConfig): EmulatorConfigInput {
  const models: NonNullable<EmulatorConfigInput['models']> = {};
  for (const [id, price] of config.pricing.models) {
    const limits = config.groq.limits.get(id);
    models[id] = {
      price: {
        input: formatUsd(price.input, 0),
        output: formatUsd(price.output, 0),
        ...(price.cachedInput !== undefined ? { cachedInput: formatUsd(price.cachedInput, 0) } : {}),
      },
      ...(limits ? { limits: { ...limits } } : {}),
    };
  }
  for (const [id, price] of config.pricing.audio ?? []) {
    const limits = config.groq.audioLimits.get(id);
    models[id] = {
      kind: 'audio',
      price: { perHour: formatUsd(price.perHour, 0), minimumSeconds: price.minimumSeconds },
      ...(limits ? { limits: { ...limits } } : {}),
    };
  }
  for (const [id, price] of config.pricing.speech ?? []) {
    const limits = config.groq.limits.get(id);
    models[id] = {
      kind: 'speech',
      price: { perMillionCharacters: formatUsd(price.perMillionCharacters, 0) },
      ...(limits ? { limits: { ...limits } } : {}),
    };
  }
  return {
    includeDefaultModels: false,
    models,
    batchDiscountPercent: config.pricing.batchDiscountPercent,
    cachedDiscountPercent: config.pricing.cachedDiscountPercent,
  };
}

/** Groq's base URL: GROQ_BASE_URL (as groq-sdk reads it) wins over the configuration. */
export function groqBaseUrl(config: GovernorConfig, env: NodeJS.ProcessEnv = process.env): string {
  return env.GROQ_BASE_URL || config.groq.baseUrl;
}

/**
 * The upstream of a separate worker or gateway process: always the configured Groq (or whatever
 * GROQ_BASE_URL names, such as a shared emulator), with secrets from the environment. Several processes
 * cannot share an emulator each one starts, so none is started here.
 */
export function connectUpstream(
  config: GovernorConfig,
  env: NodeJS.ProcessEnv = process.env,
  /** the secret store holds key versions (rotation), so no secret in the environment is needed */
  options: { keysInStore?: boolean } = {},
): Upstream {
  if (!options.keysInStore && !hasRealGroqKey(config, env)) {
    throw new Error(
      'No upstream key secret is set: set GROQ_API_KEY, or the variable each upstream key names (secretEnv). ' +
        'For a shared emulator, run `groq-governor emulator --key NAME=SECRET ...` and set GROQ_BASE_URL.',
    );
  }
  const secretEnvByName = new Map(config.upstreamKeys.map((key) => [key.name, key.secretEnv]));
  return {
    kind: 'groq',
    baseURL: groqBaseUrl(config, env),
    resolver: envKeyResolver(secretEnvByName, env),
    close: async () => undefined,
  };
}

export async function startUpstream(
  config: GovernorConfig,
  options: { emulatorPort?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Upstream> {
  const env = options.env ?? process.env;
  if (hasRealGroqKey(config, env)) return connectUpstream(config, env);
  const emulator = await startEmulator({
    port: options.emulatorPort ?? 0,
    config: emulatorConfigFor(config),
    keys: config.upstreamKeys.map((key) => ({ name: key.name })),
  });
  return {
    kind: 'emulator',
    baseURL: emulator.url,
    resolver: staticKeyResolver(new Map(Object.entries(emulator.addedKeys))),
    emulator,
    close: () => emulator.close(),
  };
}
