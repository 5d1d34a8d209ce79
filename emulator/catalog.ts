/**
 * The models the emulator serves when the config does not say otherwise: the 8 priced models of the
 * reference (shared/reference/groq-api.md), with the published base rate limits where the reference has
 * them and rpm 30 / rpd 1000 / tpm 30000 / tpd 500000 otherwise. Prices are USD per 1M tokens.
 */
export interface RateLimits {
  rpm: number;
  rpd: number;
  tpm: number;
  tpd: number;
}

export interface CatalogModel {
  input: string;
  output: string;
  limits: RateLimits;
  ownedBy: string;
  created: number;
}

export const FALLBACK_LIMITS: RateLimits = { rpm: 30, rpd: 1000, tpm: 30_000, tpd: 500_000 };
export const DEFAULT_CONTEXT_WINDOW = 131_072;

export const DEFAULT_MODELS: Readonly<Record<string, CatalogModel>> = {
  'llama-3.1-8b-instant': {
    input: '0.05',
    output: '0.08',
    limits: { rpm: 30, rpd: 14_400, tpm: 6_000, tpd: 500_000 },
    ownedBy: 'Meta',
    created: 1693721698,
  },
  'llama-3.3-70b-versatile': {
    input: '0.59',
    output: '0.79',
    limits: { rpm: 30, rpd: 1_000, tpm: 12_000, tpd: 100_000 },
    ownedBy: 'Meta',
    created: 1733447754,
  },
  'openai/gpt-oss-120b': {
    input: '0.15',
    output: '0.60',
    limits: { rpm: 30, rpd: 1_000, tpm: 8_000, tpd: 200_000 },
    ownedBy: 'OpenAI',
    created: 1754408224,
  },
  'openai/gpt-oss-20b': {
    input: '0.075',
    output: '0.30',
    limits: { rpm: 30, rpd: 1_000, tpm: 8_000, tpd: 200_000 },
    ownedBy: 'OpenAI',
    created: 1754407957,
  },
  'meta-llama/llama-4-scout-17b-16e-instruct': {
    input: '0.11',
    output: '0.34',
    limits: { rpm: 30, rpd: 1_000, tpm: 30_000, tpd: 500_000 },
    ownedBy: 'Meta',
    created: 1743874824,
  },
  'meta-llama/llama-4-maverick-17b-128e-instruct': {
    input: '0.20',
    output: '0.60',
    limits: { ...FALLBACK_LIMITS },
    ownedBy: 'Meta',
    created: 1743877158,
  },
  'qwen/qwen3-32b': {
    input: '0.29',
    output: '0.59',
    limits: { ...FALLBACK_LIMITS },
    ownedBy: 'Alibaba Cloud',
    created: 1748396646,
  },
  'moonshotai/kimi-k2-instruct-0905': {
    input: '1.00',
    output: '3.00',
    limits: { ...FALLBACK_LIMITS },
    ownedBy: 'Moonshot AI',
    created: 1757046093,
  },
};
