/** `GET /openai/v1/models`: only the models the caller's team (and key) may use. */
import type { GovernorConfig } from '../../domain/config';
import type { Principal } from '../../domain/rbac';

const CREATED = 1_700_000_000;

export function visibleModels(config: GovernorConfig, principal: Principal): string[] {
  const team = principal.team === null ? undefined : config.teams.get(principal.team);
  const base = team
    ? [...team.allowedModels]
    : principal.team === null
      ? [...config.pricing.models.keys()]
      : [];
  return principal.models ? base.filter((model) => principal.models!.includes(model)) : base;
}

export function modelObject(id: string) {
  return { id, object: 'model', created: CREATED, owned_by: ownerOf(id), active: true };
}

function ownerOf(id: string): string {
  const slash = id.indexOf('/');
  if (slash > 0) return id.slice(0, slash);
  return id.startsWith('llama') ? 'Meta' : 'Groq';
}

export function modelList(config: GovernorConfig, principal: Principal) {
  return { object: 'list', data: visibleModels(config, principal).map(modelObject) };
}
