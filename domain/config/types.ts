/**
 * The parsed, validated configuration. Money is already exact (bigint nanos), prices are a PriceBook,
 * defaults are filled in, and every cross reference (team -> model -> price, team -> upstream key) holds.
 */
import type { Nanos } from '../money';
import type { PriceBook } from '../pricing';

export interface GovernorConfig {
  org: OrgConfig;
  groq: GroqConfig;
  /** prices of every model the config mentions, with the batch and cached discounts */
  pricing: PriceBook;
  upstreamKeys: readonly UpstreamKeyConfig[];
  /** team name -> policy, in file order */
  teams: ReadonlyMap<string, TeamConfig>;
  gateway: GatewayConfig;
  reports: ReportsConfig;
}

export interface OrgConfig {
  name: string;
  monthlyCapNanos: Nanos;
  /** whole percents, strictly increasing, each 1..100 */
  alertThresholds: readonly number[];
  /** canonical IANA time zone, e.g. "Europe/Berlin" */
  timezone: string;
  webhooks: readonly string[];
}

/** Groq's organization limits for one model (whichever is hit first applies). */
export interface ModelLimits {
  rpm: number;
  rpd: number;
  tpm: number;
  tpd: number;
}

/** Groq's organization limits for one speech-to-text model: requests, audio seconds per hour and day. */
export interface AudioLimits {
  rpm: number;
  rpd: number;
  /** audio seconds per hour (ASH) */
  ash: number;
  /** audio seconds per day (ASD) */
  asd: number;
}

export interface GroqConfig {
  /** without a trailing slash, e.g. "https://api.groq.com" (paths add /openai/v1) */
  baseUrl: string;
  limits: ReadonlyMap<string, ModelLimits>;
  /** speech-to-text models */
  audioLimits: ReadonlyMap<string, AudioLimits>;
}

export interface UpstreamKeyConfig {
  /** `{team}-{env}-{purpose}` */
  name: string;
  team: string;
  env: string;
  purpose: string;
  /** environment variable that holds the secret, until a secret store resolves names */
  secretEnv?: string;
}

export interface TeamConfig {
  name: string;
  allowedModels: readonly string[];
  maxTokensPerRequest: number;
  monthlyBudgetNanos: Nanos;
  rpm: number;
  tpm: number;
  concurrency: number;
  /** name of an entry of GovernorConfig.upstreamKeys */
  upstreamKey: string;
  /** present: the team may use the Batch API with at most maxConcurrency batches in flight */
  batch?: { maxConcurrency: number };
}

export interface GatewayConfig {
  /** 0 picks a free port */
  port: number;
  /** how long a request may wait for rate-limit capacity before it is answered 429 */
  maxWaitMs: number;
  maxBodyBytes: number;
  /** speech to text: the largest upload accepted (Groq: 25 MB) */
  maxAudioBytes: number;
  /** batch input files: the largest upload accepted (Groq: 100 MB) */
  maxBatchFileBytes: number;
  /** text to speech: the longest input accepted, in characters */
  maxSpeechCharacters: number;
  /** realtime batches: upstream calls in flight at once per batch (unset: sized from the limits) */
  batchWindow?: number | undefined;
  /** realtime batches: items one workflow run starts before it continues as new (unset: sized) */
  batchItemsPerRun?: number | undefined;
}

export const DAYS_OF_WEEK = [
  'MONDAY',
  'TUESDAY',
  'WEDNESDAY',
  'THURSDAY',
  'FRIDAY',
  'SATURDAY',
  'SUNDAY',
] as const;
export type DayOfWeek = (typeof DAYS_OF_WEEK)[number];

export interface ReportsConfig {
  /** when the weekly report runs, in the org's time zone */
  schedule: { dayOfWeek: DayOfWeek; hour: number; minute: number };
  /** as written, e.g. "1 day" (a duration string Temporal accepts) */
  catchupWindow: string;
  catchupWindowMs: number;
  webhooks: readonly string[];
  directory: string;
}

/** One problem (or warning) in a configuration file. */
export interface ConfigProblem {
  /** where: `teams.chatbot.allowedModels[1]`, `pricing.models["openai/gpt-oss-20b"].input`, `(root)`, or `line 3, column 5` for YAML syntax */
  path: string;
  message: string;
  /** 1-based position in the YAML text, when known */
  line?: number;
  column?: number;
}

export type ParseResult =
  | { ok: true; config: GovernorConfig; warnings: ConfigProblem[]; source: string }
  | { ok: false; problems: ConfigProblem[]; source: string };

export interface ParseOptions {
  /** base folder for data written by the governor; reports.directory defaults to `<dataDir>/reports` (default ".data") */
  dataDir?: string;
}
