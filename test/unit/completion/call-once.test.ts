import { AsyncLocalStorage } from 'node:async_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { oncePerAttempt } from '../../../activities/completion/call-once';
import type { CallInput, CallResult } from '../../../activities/completion/types';

const input = (reservationId: string) => ({ reservationId }) as CallInput;
const success = (id: string): CallResult => ({
  kind: 'success',
  completion: { id },
  usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } as never,
  upstreamRequestId: id,
  keyVersion: 1,
});

function counting(answer: (id: string) => Promise<CallResult>) {
  const calls: string[] = [];
  return {
    calls,
    call: (callInput: CallInput) => (calls.push(callInput.reservationId), answer(callInput.reservationId)),
  };
}

describe('oncePerAttempt: a second run of a call step gets the first run outcome', () => {
  it('while the first still runs and after it finished, calling once', async () => {
    const { calls, call } = counting(async (id) => success(id));
    const once = oncePerAttempt(call);
    const [first, second] = await Promise.all([once(input('r1')), once(input('r1'))]);
    expect(second).toEqual(first);
    expect(await once(input('r1'))).toEqual(first);
    expect(calls).toEqual(['r1']);
  });

  it('replays a failure, and forgets an attempt that was not admitted', async () => {
    let admitted = false;
    const { calls, call } = counting(async (id) => {
      if (id === 'broken') throw new Error('socket hang up');
      return admitted ? success(id) : { kind: 'not_admitted', retryAfterMs: 10 };
    });
    const once = oncePerAttempt(call);
    await expect(once(input('broken'))).rejects.toThrow('socket hang up');
    await expect(once(input('broken'))).rejects.toThrow('socket hang up');
    expect((await once(input('later'))).kind).toBe('not_admitted');
    admitted = true;
    expect((await once(input('later'))).kind).toBe('success');
    expect(calls).toEqual(['broken', 'later', 'later']);
  });

  it('keeps an outcome for keepMs, then calls again', async () => {
    let clock = 0;
    const { calls, call } = counting(async (id) => success(id));
    const once = oncePerAttempt(call, 1_000, () => clock);
    await once(input('a'));
    clock = 600;
    await once(input('b'));
    clock = 1_000;
    await once(input('a'));
    await once(input('b'));
    expect(calls).toEqual(['a', 'b', 'a']);
  });

  it("keeps no run's async context alive with its outcome", async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const context = new AsyncLocalStorage<{ payload: number[] }>();
    const once = oncePerAttempt(async (callInput) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return success(callInput.reservationId);
    });
    let store: { payload: number[] } | undefined = { payload: new Array(10_000).fill(1) };
    const stored = new WeakRef(store);
    await context.run(store, () => once(input('kept')));
    store = undefined;
    for (let round = 0; round < 5 && stored.deref(); round++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      gc();
    }
    expect(stored.deref()).toBeUndefined();
    // and the outcome is still there for a second run
    expect((await once(input('kept'))).kind).toBe('success');
  });
});
