/** The budget step of speech to text and text to speech: hold the worst case (seconds or characters). */
import { audioCost, audioPriceOf, speechCost, speechPriceOf } from '../../domain/modality-pricing';
import { reserveAmount } from '../completion/budget';
import type { ReserveResult } from '../completion/types';
import type { ModalityDeps } from './deps';
import type { UnitsReserveInput } from './types';

export async function reserveUnits(deps: ModalityDeps, input: UnitsReserveInput): Promise<ReserveResult> {
  const config = deps.config();
  const amount =
    input.endpoint === 'audio.speech'
      ? speechCost(speechPriceOf(config.pricing, input.model), input.quantity)
      : audioCost(audioPriceOf(config.pricing, input.model), input.quantity);
  const what =
    input.endpoint === 'audio.speech' ? `${input.quantity} characters` : `${input.quantity} s of audio`;
  return reserveAmount(deps, input, amount, { what });
}
