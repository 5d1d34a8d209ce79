/**
 * Upstream Groq key names: `{team}-{env}-{purpose}`, all lower-case.
 *
 *   team     [a-z][a-z0-9_]*      the team that owns the key (no hyphen, so the name splits unambiguously)
 *   env      [a-z0-9]+            dev, staging, prod, or any other word without a hyphen
 *   purpose  [a-z0-9][a-z0-9-]*   what the key is for; may contain hyphens ("gateway", "2026-04")
 *
 * The name is only a label: the secret itself lives elsewhere and is looked up by name.
 */
export interface KeyName {
  team: string;
  env: string;
  purpose: string;
}

export const TEAM_NAME_PATTERN = /^[a-z][a-z0-9_]*$/;
export const ENV_NAME_PATTERN = /^[a-z0-9]+$/;
export const PURPOSE_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
export const KEY_NAME_PATTERN = /^([a-z][a-z0-9_]*)-([a-z0-9]+)-([a-z0-9][a-z0-9-]*)$/;

/** `chatbot-prod-gateway` -> `{ team: 'chatbot', env: 'prod', purpose: 'gateway' }`; anything else -> null. */
export function parseKeyName(name: string): KeyName | null {
  if (typeof name !== 'string') return null;
  const match = KEY_NAME_PATTERN.exec(name);
  if (!match) return null;
  const [, team = '', env = '', purpose = ''] = match;
  return { team, env, purpose };
}

export function isValidKeyName(name: string): boolean {
  return parseKeyName(name) !== null;
}

/** The inverse of parseKeyName; throws if a part does not fit its pattern. */
export function formatKeyName(parts: KeyName): string {
  const name = `${parts.team}-${parts.env}-${parts.purpose}`;
  const parsed = parseKeyName(name);
  if (!parsed || parsed.team !== parts.team || parsed.env !== parts.env || parsed.purpose !== parts.purpose) {
    throw new RangeError(keyNameProblem(name) ?? `not a valid key name: ${JSON.stringify(name)}`);
  }
  return name;
}

/** Why a name is not a valid `{team}-{env}-{purpose}` key name, in words; null when it is valid. */
export function keyNameProblem(name: string): string | null {
  if (parseKeyName(name) !== null) return null;
  const shown = JSON.stringify(name);
  const expected = 'expected {team}-{env}-{purpose}, e.g. "chatbot-prod-gateway"';
  if (name.length === 0) return `key name is empty: ${expected}`;
  if (/[A-Z]/.test(name)) return `key name ${shown} must be lower-case: ${expected}`;
  if (/[^a-z0-9_-]/.test(name)) {
    return `key name ${shown} may only contain a-z, 0-9, "_" and "-": ${expected}`;
  }
  const parts = name.split('-');
  if (parts.length < 3) return `key name ${shown} has ${parts.length} part(s), needs three: ${expected}`;
  const [team = '', env = ''] = parts;
  const purpose = parts.slice(2).join('-');
  if (!TEAM_NAME_PATTERN.test(team)) {
    return `key name ${shown}: team ${JSON.stringify(team)} must match [a-z][a-z0-9_]*`;
  }
  if (!ENV_NAME_PATTERN.test(env))
    return `key name ${shown}: env ${JSON.stringify(env)} must match [a-z0-9]+`;
  if (!PURPOSE_PATTERN.test(purpose)) {
    return `key name ${shown}: purpose ${JSON.stringify(purpose)} must match [a-z0-9][a-z0-9-]*`;
  }
  return `key name ${shown} is not valid: ${expected}`;
}
