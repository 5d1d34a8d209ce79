/**
 * The authorize step's happy path in one ledger statement (ledger/authorize-fast.ts): the configuration
 * decides here what it alone decides (the team's models and token cap, the worst-case amount, the
 * buckets and their limits, the roles that may call) and the ledger function checks and writes the rest
 * (the key, the team's pause and spend, the reservation, the admission). The key's team is the one the
 * key had at an earlier authorization in this worker (a key never changes team, and the function checks
 * it again); a key not seen yet, and whatever the function does not grant at once, go through the
 * separate steps in one transaction (authorize.ts), which make the refusals and compute retry times.
 */
import { worstCaseCost } from '../../domain/pricing';
import { authorize as rbacAuthorize, ROLES } from '../../domain/rbac';
import { periodOf } from '../../ledger';
import { leaseIdFor, reservationIdFor } from './budget';
import { acquireCapacity, capacityBuckets, LEASE_TTL_MS } from './capacity';
import type { CompletionDeps } from './deps';
import type { AuthorizeInput, AuthorizeResult, ClaimFor } from './types';

/** The teams of the keys this worker has authorized (a key's team never changes). */
export class KeyTeams {
  readonly #teams = new Map<string, string>();
  /** more keys than this and the memory starts again */
  static readonly MAX = 10_000;

  get(keyId: string): string | undefined {
    return this.#teams.get(keyId);
  }

  set(keyId: string, team: string): void {
    if (this.#teams.size >= KeyTeams.MAX && !this.#teams.has(keyId)) this.#teams.clear();
    this.#teams.set(keyId, team);
  }
}

/** The step's result when the ledger function could grant it (admitted, or reserved and then decided). */
export async function authorizeFast(
  deps: CompletionDeps,
  input: AuthorizeInput,
  keyTeams: KeyTeams,
  claim?: ClaimFor,
): Promise<Extract<AuthorizeResult, { ok: true }> | undefined> {
  const team = keyTeams.get(input.gatewayKeyId);
  if (team === undefined) return undefined;
  const config = deps.config();
  const teamConfig = config.teams.get(team);
  if (!teamConfig || !teamConfig.allowedModels.includes(input.model)) return undefined;
  const maxCompletionTokens = input.maxCompletionTokens ?? teamConfig.maxTokensPerRequest;
  if (maxCompletionTokens > teamConfig.maxTokensPerRequest) return undefined;
  const action = input.interactive ? 'completions.create' : 'batches.create';
  const roles = ROLES.filter(
    (role) => rbacAuthorize({ keyId: input.gatewayKeyId, role, team }, action).allowed,
  );
  const now = deps.now();
  const period = periodOf(new Date(now), config.org.timezone);
  const reservationId = reservationIdFor(input.requestId, input.attempt);
  const leaseId = leaseIdFor(input.requestId, input.attempt);
  const tokens = input.promptTokenEstimate + maxCompletionTokens;
  const outcome = await deps.ledger.authorizeFast({
    keyId: input.gatewayKeyId,
    team,
    roles,
    model: input.model,
    now,
    period,
    teamLimit: teamConfig.monthlyBudgetNanos,
    orgLimit: config.org.monthlyCapNanos,
    reservationId,
    requestId: input.requestId,
    amount: worstCaseCost(config.pricing, input.model, input.promptTokenBound, maxCompletionTokens, {
      batch: !input.interactive,
    }),
    leaseId,
    tokens,
    leaseTtlMs: LEASE_TTL_MS,
    buckets: capacityBuckets(config, team, input.model, input.interactive),
    ...(claim ? { claimer: await claim(teamConfig.upstreamKey) } : {}),
  });
  if (outcome === 'declined') return undefined;
  const capacity =
    outcome === 'admitted' || outcome === 'claimed'
      ? { admitted: true as const }
      : await acquireCapacity(deps, {
          leaseId,
          team,
          model: input.model,
          tokens,
          interactive: input.interactive,
        });
  return {
    ok: true,
    policy: {
      ok: true,
      team,
      model: input.model,
      maxCompletionTokens,
      upstreamKey: teamConfig.upstreamKey,
      period,
    },
    reservationId,
    tokens,
    capacity,
    ...(outcome === 'claimed' ? { claimed: true } : {}),
  };
}
