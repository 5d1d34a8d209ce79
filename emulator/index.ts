/**
 * A local Groq emulator: `startEmulator()` runs it in-process (tests, `up`), the `emulator` CLI command
 * runs it standalone. See docs/emulator.md.
 */
import type { AddressInfo } from 'node:net';
import type { PriceBook } from '../domain/pricing';
import { applyReset, type ResetParts } from './admin';
import type { BilledCall, BillingReport } from './billing';
import type { RateLimits } from './catalog';
import { systemClock, type Clock } from './clock';
import {
  ConfigError,
  readConfigInput,
  resolveConfig,
  type EmulatorConfig,
  type EmulatorConfigInput,
} from './config';
import type { ActiveFault, FaultSpec } from './faults';
import type { KeyInfo } from './keys';
import type { RateLimitSnapshot } from './ratelimit';
import type { RequestLogReport } from './requestlog';
import { createEmulatorServer } from './server';
import { EmulatorState, type LatencySettings } from './state';

export { ManualClock, systemClock, type Clock } from './clock';
export {
  ConfigError,
  loadConfigFile,
  parseConfigYaml,
  resolveConfig,
  type EmulatorConfig,
  type EmulatorConfigInput,
  type ModelSpec,
} from './config';
export { DEFAULT_MODELS, FALLBACK_LIMITS, DEFAULT_CONTEXT_WINDOW, type RateLimits } from './catalog';
export type { ActiveFault, FaultSpec } from './faults';
export type { BilledCall, BillingCounters, BillingLine, BillingReport } from './billing';
export type { KeyInfo } from './keys';
export type { RateLimitSnapshot } from './ratelimit';
export type { RequestLogReport } from './requestlog';
export type { ResetParts } from './admin';
export type { LatencySettings } from './state';
export { generateKeySecret, keyFingerprint } from './ids';
export { countPromptTokens, countTextTokens } from './tokens';

export interface StartEmulatorOptions {
  /** default 127.0.0.1 (the admin API only answers loopback clients whatever the host) */
  host?: string;
  /** default 0: a free port */
  port?: number;
  /** YAML config file; `config` fields override its top-level fields */
  configFile?: string;
  config?: EmulatorConfigInput;
  /** keys added on top of the config's; a missing secret is generated (read it from `addedKeys`) */
  keys?: { name: string; secret?: string }[];
  /** overrides config latencyMs */
  latencyMs?: number;
  /** overrides config perTokenLatencyMs */
  perTokenLatencyMs?: number;
  /** overrides config batch speed fields */
  batch?: Partial<EmulatorConfig['batch']>;
  /** default: the system clock */
  clock?: Clock;
}

export interface RunningEmulator {
  /** base URL, e.g. http://127.0.0.1:PORT: what groq-sdk's `baseURL` takes */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly config: EmulatorConfig;
  readonly clock: Clock;
  /** the prices billing uses (domain/pricing.ts) */
  readonly priceBook: PriceBook;
  /** secrets of the keys given in `options.keys`, by name (including generated ones) */
  readonly addedKeys: Readonly<Record<string, string>>;
  close(): Promise<void>;
  /** add (or replace) a key; a missing secret is generated. Returns the secret. */
  addKey(name: string, secret?: string): { name: string; secret: string; fingerprint: string };
  revokeKey(name: string): boolean;
  keys(): KeyInfo[];
  injectFault(fault: FaultSpec): ActiveFault;
  faults(): ActiveFault[];
  clearFaults(): void;
  setLatency(latency: Partial<LatencySettings>): void;
  latency(): LatencySettings;
  setLimits(model: string, limits: Partial<RateLimits>): void;
  /** false: never answer 429/413 for rate limits (headers still sent) */
  enforceRateLimits(enforce: boolean): void;
  rateLimits(): RateLimitSnapshot[];
  billing(): BillingReport;
  billedCalls(): BilledCall[];
  requestLog(): RequestLogReport;
  /** requests seen with a key name (optionally within [fromMs, toMs) of the emulator clock) */
  requestCount(keyName: string, fromMs?: number, toMs?: number): number;
  /** reset runtime state; with no parts named: billing, limits, request log, faults, files and batches */
  reset(parts?: ResetParts): void;
  /** resolves when no batch is running */
  batchesIdle(): Promise<void>;
}

async function buildConfig(options: StartEmulatorOptions): Promise<EmulatorConfig> {
  const fromFile = options.configFile ? await readConfigInput(options.configFile) : {};
  if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
    throw new ConfigError(['(root): must be a mapping'], options.configFile);
  }
  const merged: Record<string, unknown> = { ...(fromFile as Record<string, unknown>), ...options.config };
  if (options.latencyMs !== undefined) merged.latencyMs = options.latencyMs;
  if (options.perTokenLatencyMs !== undefined) merged.perTokenLatencyMs = options.perTokenLatencyMs;
  if (options.batch) merged.batch = { ...(merged.batch as object | undefined), ...options.batch };
  return resolveConfig(merged, options.configFile ?? 'emulator config');
}

export async function startEmulator(options: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const config = await buildConfig(options);
  const clock = options.clock ?? systemClock;
  const state = new EmulatorState(config, clock);
  const addedKeys: Record<string, string> = {};
  for (const key of options.keys ?? []) addedKeys[key.name] = state.keys.add(key.name, key.secret).secret;

  const server = createEmulatorServer(state);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    config,
    clock,
    priceBook: state.billing.priceBook,
    addedKeys,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const res of state.hanging) res.destroy();
        server.closeAllConnections();
        await state.batches.close();
        await stopped;
      })();
      return closing;
    },
    addKey: (name, secret) => state.keys.add(name, secret),
    revokeKey: (name) => state.keys.revoke(name),
    keys: () => state.keys.list(),
    injectFault: (fault) => state.faults.add(fault),
    faults: () => state.faults.list(),
    clearFaults: () => state.faults.clear(),
    setLatency(latency) {
      if (latency.latencyMs !== undefined) state.latency.latencyMs = latency.latencyMs;
      if (latency.perTokenMs !== undefined) state.latency.perTokenMs = latency.perTokenMs;
    },
    latency: () => ({ ...state.latency }),
    setLimits(model, limits) {
      if (!state.limiter.setLimits(model, limits)) throw new Error(`no model named ${model}`);
    },
    enforceRateLimits(enforce) {
      state.limiter.enforce = enforce;
    },
    rateLimits: () => state.limiter.snapshot(state.now()),
    billing: () => state.billing.report(),
    billedCalls: () => state.billing.list(),
    requestLog: () => state.requestLog.report(),
    requestCount: (keyName, fromMs, toMs) => state.requestLog.count(keyName, fromMs, toMs),
    reset: (parts = {}) => applyReset(state, parts),
    batchesIdle: () => state.batches.idle(),
  };
}
