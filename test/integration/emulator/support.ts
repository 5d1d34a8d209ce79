/** Shared helpers of the emulator integration tests. */
import Groq from 'groq-sdk';
import { costOf } from '../../../domain/pricing';
import {
  generateKeySecret,
  startEmulator,
  type RunningEmulator,
  type StartEmulatorOptions,
} from '../../../emulator/index';

export const MODEL = 'llama-3.1-8b-instant';

/** An emulator with instant batches and one key per name given. */
export async function startTestEmulator(
  names: string[] = ['team-a'],
  options: StartEmulatorOptions = {},
): Promise<{ emulator: RunningEmulator; secrets: Record<string, string> }> {
  const emulator = await startEmulator({
    keys: names.map((name) => ({ name, secret: generateKeySecret() })),
    batch: { validatingMs: 0, requestMs: 0, finalizingMs: 0, concurrency: 4 },
    ...options,
  });
  return { emulator, secrets: { ...emulator.addedKeys } };
}

export function groqClient(
  emulator: RunningEmulator,
  apiKey: string,
  options: { maxRetries?: number; timeout?: number } = {},
): Groq {
  return new Groq({
    apiKey,
    baseURL: emulator.url,
    maxRetries: options.maxRetries ?? 0,
    timeout: options.timeout ?? 10_000,
  });
}

export interface SeenUsage {
  model: string;
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

/** What the client would compute from the usages it saw, with the emulator's own price book. */
export function expectedCost(emulator: RunningEmulator, usages: SeenUsage[], batch = false): bigint {
  let total = 0n;
  for (const usage of usages) {
    total += costOf(
      emulator.priceBook,
      usage.model,
      {
        promptTokens: usage.prompt_tokens,
        completionTokens: usage.completion_tokens,
        cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
      },
      { batch },
    );
  }
  return total;
}

export function userMessage(content: string): { role: 'user'; content: string }[] {
  return [{ role: 'user', content }];
}
