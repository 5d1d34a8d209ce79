// The ledger work of a governed completion on its happy path, counted statement by statement through
// the gateway: once the worker has authorized a key, a request costs two statements and no transaction:
// the authorize step's one (`governor_authorize`: policy reads, reservation, admission and the claim of
// the reservation for the call) and the booking's one (`governor_book_completion`), and what it books
// still equals what the emulator billed.
import Groq from 'groq-sdk';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionWorkflowId } from '../../../domain/request-ids';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { countStatements } from '../../support/ledger-watch';
import { devServerEnv } from '../../support/temporal';

const MODEL = 'llama-3.1-8b-instant';

describe('the ledger statements of a governed completion', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let groq: Groq;

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true });
    groq = new Groq({ baseURL: stack.gateway!.url, apiKey: (await stack.issue('alpha')).key, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  const ask = (content: string) =>
    groq.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content }], max_completion_tokens: 20 })
      .withResponse();

  it('costs two statements once the key is known: authorize (with the claim), booking', async () => {
    // the worker learns the key's team from its first authorization (the separate steps)
    await ask('first');
    const counter = countStatements(stack.ledger);
    try {
      for (let i = 0; i < 3; i++) {
        counter.reset();
        const { data, response } = await ask(`request ${i} [[emulator:completion_tokens=5]]`);
        expect(data.usage?.completion_tokens).toBe(5);
        // the workflow may still be completing after the answer: its result settles the count
        const requestId = response.headers.get('x-request-id')!;
        await env.client.workflow.getHandle(completionWorkflowId(requestId)).result();
        const kinds = counter.statements.map((text) =>
          text.includes('governor_authorize')
            ? 'authorize'
            : text.includes('governor_book_completion')
              ? 'book'
              : text.includes('call_claimed_by = $2')
                ? 'claim'
                : text,
        );
        expect(kinds).toEqual(['authorize', 'book']);
        const billed = stack.emulator
          .billedCalls()
          .filter((call) => call.request_id === response.headers.get('x-groq-request-id'));
        expect(billed).toHaveLength(1);
        expect(await stack.ledger.getReservation(`${requestId}#1`)).toMatchObject({
          state: 'settled',
          settledAmount: BigInt(billed[0]!.cost_nanos),
        });
      }
    } finally {
      counter.restore();
    }
  });
});
