/** The policy step: who is calling, may they, and is this request within their team's rules. */
import type { Refusal } from '../../domain/api-errors';
import { authorize } from '../../domain/rbac';
import { periodOf, type GatewayKey } from '../../ledger';
import type { CompletionDeps } from './deps';
import type { PolicyInput, PolicyResult } from './types';

export function keyRefusal(key: GatewayKey | null, now: number): Refusal | null {
  if (!key) return { code: 'invalid_api_key', message: 'Invalid API Key' };
  if (key.revokedAt) return { code: 'revoked_api_key', message: 'This API key has been revoked.' };
  if (key.expiresAt && key.expiresAt.getTime() <= now) {
    return { code: 'expired_api_key', message: 'This API key has expired.' };
  }
  return null;
}

export async function checkPolicy(deps: CompletionDeps, input: PolicyInput): Promise<PolicyResult> {
  const config = deps.config();
  const now = deps.now();
  const period = periodOf(new Date(now), config.org.timezone);
  // the key, its team's admin pause and its team's spend, in one read
  const snapshot = await deps.ledger.policySnapshot(input.gatewayKeyId, period);
  const { key } = snapshot;
  const refuse = async (refusal: Refusal, team: string | null): Promise<PolicyResult> => {
    await deps.ledger.recordRefusal({
      requestId: input.requestId,
      period,
      team,
      reason: refusal.code,
      detail: refusal.message,
      at: new Date(now),
    });
    return { ok: false, refusal };
  };

  const keyProblem = keyRefusal(key, now);
  if (keyProblem || !key) return refuse(keyProblem!, key?.team ?? null);
  const principal = {
    keyId: key.id,
    role: key.role,
    team: key.team,
    ...(key.models ? { models: key.models } : {}),
  };
  const decision = authorize(principal, input.interactive ? 'completions.create' : 'batches.create');
  if (!decision.allowed) return refuse({ code: 'permission_denied', message: decision.reason }, key.team);

  const team = key.team === null ? undefined : config.teams.get(key.team);
  if (!team) {
    return refuse(
      { code: 'team_not_found', message: `Team ${JSON.stringify(key.team)} is not configured.` },
      key.team,
    );
  }
  // the snapshot read the pause and the spend of the key's team, which is this team
  if (snapshot.adminPause) {
    const reason = snapshot.adminPause.reason ? `: ${snapshot.adminPause.reason}` : '.';
    return refuse(
      { code: 'team_paused', message: `Team ${team.name} is paused by an administrator${reason}` },
      team.name,
    );
  }
  if (snapshot.teamUsed >= team.monthlyBudgetNanos) {
    return refuse(
      {
        code: 'budget_exceeded',
        message: `Team ${team.name} has used its monthly budget for ${period}; requests resume when the period resets or the budget is raised.`,
      },
      team.name,
    );
  }

  const allowedByKey = !key.models || key.models.includes(input.model);
  if (!team.allowedModels.includes(input.model) || !allowedByKey) {
    return refuse(
      {
        code: 'model_not_allowed',
        message: `The model \`${input.model}\` is not allowed for ${allowedByKey ? `team ${team.name}` : 'this API key'}.`,
        param: 'model',
      },
      team.name,
    );
  }
  const maxCompletionTokens = input.maxCompletionTokens ?? team.maxTokensPerRequest;
  if (maxCompletionTokens > team.maxTokensPerRequest) {
    return refuse(
      {
        code: 'max_tokens_exceeded',
        message: `max_completion_tokens ${maxCompletionTokens} exceeds team ${team.name}'s limit of ${team.maxTokensPerRequest}.`,
        param: 'max_completion_tokens',
      },
      team.name,
    );
  }
  return {
    ok: true,
    team: team.name,
    model: input.model,
    maxCompletionTokens,
    upstreamKey: team.upstreamKey,
    period,
  };
}
