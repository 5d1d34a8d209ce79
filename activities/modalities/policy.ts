/**
 * The policy step of the modality endpoints: the completion policy (key, role, team, pause, budget, the
 * model on the allow-lists), then what only these endpoints have: the model must serve the endpoint (a
 * priced audio, speech or token model), the upload within the cap (Groq: 25 MB), the speech input within
 * the character cap. Refusals are recorded like the completion policy's.
 */
import type { Refusal } from '../../domain/api-errors';
import { checkPolicy } from '../completion/policy';
import type { PolicyResult } from '../completion/types';
import { recordRefusal } from '../completion/budget';
import type { ModalityDeps } from './deps';
import type { ModalityPolicyInput } from './types';

function servesEndpoint(deps: ModalityDeps, input: ModalityPolicyInput): boolean {
  const { pricing } = deps.config();
  if (input.endpoint === 'responses') return pricing.models.has(input.model);
  if (input.endpoint === 'audio.speech') return pricing.speech?.has(input.model) ?? false;
  return pricing.audio?.has(input.model) ?? false;
}

export async function checkModalityPolicy(
  deps: ModalityDeps,
  input: ModalityPolicyInput,
): Promise<PolicyResult> {
  const policy = await checkPolicy(deps, {
    requestId: input.requestId,
    gatewayKeyId: input.gatewayKeyId,
    model: input.model,
    interactive: true,
    ...(input.maxOutputTokens !== undefined ? { maxCompletionTokens: input.maxOutputTokens } : {}),
  });
  if (!policy.ok) return policy;
  const { gateway } = deps.config();
  let refusal: Refusal | undefined;
  if (!servesEndpoint(deps, input)) {
    refusal = {
      code: 'invalid_request_error',
      message: `The model \`${input.model}\` does not serve /openai/v1/${input.endpoint.replace('.', '/')}.`,
      param: 'model',
    };
  } else if (input.uploadBytes !== undefined && input.uploadBytes > gateway.maxAudioBytes) {
    refusal = {
      code: 'request_too_large',
      message: `The audio file is ${input.uploadBytes} bytes, more than the ${gateway.maxAudioBytes} bytes (25 MB) allowed.`,
      param: 'file',
    };
  } else if (input.characters !== undefined && input.characters > gateway.maxSpeechCharacters) {
    refusal = {
      code: 'request_too_large',
      message: `The input is ${input.characters} characters, more than the ${gateway.maxSpeechCharacters} allowed.`,
      param: 'input',
    };
  }
  if (!refusal) return policy;
  await recordRefusal(deps, {
    requestId: input.requestId,
    team: policy.team,
    period: policy.period,
    code: refusal.code,
    detail: refusal.message,
  });
  return { ok: false, refusal };
}
