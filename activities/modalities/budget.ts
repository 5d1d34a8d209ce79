/** The budget step of speech to text and text to speech: hold the worst case (seconds or characters). */
import { formatUsd } from '../../domain/money';
import { audioCost, audioPriceOf, speechCost, speechPriceOf } from '../../domain/modality-pricing';
import { recordRefusal, reservationIdFor } from '../completion/budget';
import type { ReserveResult } from '../completion/types';
import type { ModalityDeps } from './deps';
import type { UnitsReserveInput } from './types';

export async function reserveUnits(deps: ModalityDeps, input: UnitsReserveInput): Promise<ReserveResult> {
  const config = deps.config();
  const team = config.teams.get(input.team);
  if (!team) throw new Error(`team ${input.team} vanished from the configuration`);
  const amount =
    input.endpoint === 'audio.speech'
      ? speechCost(speechPriceOf(config.pricing, input.model), input.quantity)
      : audioCost(audioPriceOf(config.pricing, input.model), input.quantity);
  const reservationId = reservationIdFor(input.requestId, input.attempt);
  const result = await deps.ledger.reserve({
    reservationId,
    requestId: input.requestId,
    team: input.team,
    period: input.period,
    amount,
    teamLimit: team.monthlyBudgetNanos,
    orgLimit: config.org.monthlyCapNanos,
  });
  if (result.ok) return { ok: true, reservationId, amountNanos: amount.toString() };
  const whose =
    result.reason === 'team_budget'
      ? `team ${input.team}'s monthly budget`
      : "the organization's monthly cap";
  const what =
    input.endpoint === 'audio.speech' ? `${input.quantity} characters` : `${input.quantity} s of audio`;
  await recordRefusal(deps, {
    requestId: input.requestId,
    team: input.team,
    period: input.period,
    code: 'budget_exceeded',
    detail: result.reason,
  });
  return {
    ok: false,
    refusal: {
      code: 'budget_exceeded',
      message: `This request (${what}) may cost up to $${formatUsd(amount)}, more than the $${formatUsd(result.remaining)} left in ${whose} for ${input.period}.`,
    },
  };
}
