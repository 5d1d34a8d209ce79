/**
 * Checks that relate several fields: models used by teams or limits must be priced, a team's upstream
 * key must exist, key names are unique, alert thresholds increase. They read the raw document defensively,
 * so they report their problems even when unrelated parts of the file are broken.
 */
import { TEAM_NAME_PATTERN } from '../keyName';
import type { PathSegment } from './paths';

/** Groq model ids: "llama-3.1-8b-instant", "openai/gpt-oss-120b" */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

export interface RawProblem {
  path: PathSegment[];
  message: string;
}

type Obj = Record<string, unknown>;

function asObject(value: unknown): Obj | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
}

function field(object: Obj | undefined, key: string): unknown {
  return object !== undefined && Object.hasOwn(object, key) ? object[key] : undefined;
}

function ownKeys(value: unknown): Set<string> | undefined {
  const object = asObject(value);
  return object ? new Set(Object.keys(object)) : undefined;
}

function list(names: Iterable<string>): string {
  const all = [...names];
  if (all.length === 0) return 'none';
  const shown = all.slice(0, 8).join(', ');
  return all.length > 8 ? `${shown}, ...` : shown;
}

export function crossCheck(raw: unknown): RawProblem[] {
  const problems: RawProblem[] = [];
  const root = asObject(raw);
  if (!root) return problems;

  // org.alertThresholds strictly increasing (the range of each one is the schema's job)
  const thresholds = field(asObject(field(root, 'org')), 'alertThresholds');
  if (Array.isArray(thresholds)) {
    let previous: number | undefined;
    thresholds.forEach((value: unknown, index) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) return;
      if (previous !== undefined && value <= previous) {
        problems.push({
          path: ['org', 'alertThresholds', index],
          message: `thresholds must be strictly increasing: ${value} is not above ${previous}`,
        });
      }
      previous = previous === undefined ? value : Math.max(previous, value);
    });
  }

  // names used as keys: models under pricing.models/audio/speech and groq.limits/audioLimits, teams
  const pricing = asObject(field(root, 'pricing'));
  const tokenPriced = ownKeys(field(pricing, 'models'));
  const audioPriced = ownKeys(field(pricing, 'audio')) ?? new Set<string>();
  const speechPriced = ownKeys(field(pricing, 'speech')) ?? new Set<string>();
  const priced = tokenPriced ? new Set([...tokenPriced, ...audioPriced, ...speechPriced]) : undefined;
  const limited = ownKeys(field(asObject(field(root, 'groq')), 'limits')) ?? new Set<string>();
  const audioLimited = ownKeys(field(asObject(field(root, 'groq')), 'audioLimits')) ?? new Set<string>();
  for (const [names, path] of [
    [tokenPriced, ['pricing', 'models']],
    [audioPriced, ['pricing', 'audio']],
    [speechPriced, ['pricing', 'speech']],
    [limited, ['groq', 'limits']],
    [audioLimited, ['groq', 'audioLimits']],
  ] as const) {
    for (const model of names ?? []) {
      if (!MODEL_NAME_PATTERN.test(model)) {
        problems.push({
          path: [...path, model],
          message: `not a model name: ${JSON.stringify(model)} (expected e.g. "llama-3.1-8b-instant" or "openai/gpt-oss-20b")`,
        });
      }
    }
  }
  const teams = asObject(field(root, 'teams'));
  for (const team of Object.keys(teams ?? {})) {
    if (!TEAM_NAME_PATTERN.test(team)) {
      problems.push({
        path: ['teams', team],
        message: `team name ${JSON.stringify(team)} must match [a-z][a-z0-9_]* (lower-case letters, digits, "_"; no "-")`,
      });
    }
  }

  // models named anywhere need a price; unknown when pricing.models itself is broken
  if (tokenPriced) {
    for (const model of limited) {
      if (!tokenPriced.has(model) && !speechPriced.has(model)) {
        problems.push({
          path: ['groq', 'limits', model],
          message: `model ${JSON.stringify(model)} has no price: add it under pricing.models`,
        });
      }
    }
    for (const model of audioPriced) {
      if (tokenPriced.has(model) || speechPriced.has(model)) {
        problems.push({
          path: ['pricing', 'audio', model],
          message: `model ${JSON.stringify(model)} is priced twice: a model is priced under one of pricing.models, pricing.audio or pricing.speech`,
        });
      }
    }
    for (const model of speechPriced) {
      if (tokenPriced.has(model)) {
        problems.push({
          path: ['pricing', 'speech', model],
          message: `model ${JSON.stringify(model)} is priced twice: a model is priced under one of pricing.models, pricing.audio or pricing.speech`,
        });
      }
    }
  }
  for (const model of audioLimited) {
    if (!audioPriced.has(model)) {
      problems.push({
        path: ['groq', 'audioLimits', model],
        message: `model ${JSON.stringify(model)} has no audio price: add it under pricing.audio`,
      });
    }
  }

  // upstream key names unique
  const keyNames = new Map<string, number>();
  const upstreamKeys = field(root, 'upstreamKeys');
  const keysKnown = Array.isArray(upstreamKeys);
  if (Array.isArray(upstreamKeys)) {
    upstreamKeys.forEach((entry: unknown, index) => {
      const name = field(asObject(entry), 'name');
      if (typeof name !== 'string') return;
      const first = keyNames.get(name);
      if (first === undefined) keyNames.set(name, index);
      else {
        problems.push({
          path: ['upstreamKeys', index, 'name'],
          message: `duplicate upstream key name ${JSON.stringify(name)} (also upstreamKeys[${first}])`,
        });
      }
    });
  }

  // teams: every allowed model priced, the upstream key declared
  for (const [team, value] of Object.entries(teams ?? {})) {
    const teamObject = asObject(value);
    const models = field(teamObject, 'allowedModels');
    if (priced && Array.isArray(models)) {
      models.forEach((model: unknown, index) => {
        if (typeof model !== 'string' || model === '' || priced.has(model)) return;
        problems.push({
          path: ['teams', team, 'allowedModels', index],
          message: limited.has(model)
            ? `model ${JSON.stringify(model)} has no price: add it under pricing.models`
            : `unknown model ${JSON.stringify(model)}: it has no price under pricing.models (priced: ${list(priced)})`,
        });
      });
    }
    const key = field(teamObject, 'upstreamKey');
    if (keysKnown && typeof key === 'string' && key !== '' && !keyNames.has(key)) {
      problems.push({
        path: ['teams', team, 'upstreamKey'],
        message: `no upstream key named ${JSON.stringify(key)} under upstreamKeys (declared: ${list(keyNames.keys())})`,
      });
    }
  }
  return problems;
}
