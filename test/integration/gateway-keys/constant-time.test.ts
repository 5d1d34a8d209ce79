/**
 * The secret check goes through `crypto.timingSafeEqual` on two SHA-256 digests, for a right secret, a
 * wrong one and an unknown public id alike, and its answer alone decides: with timingSafeEqual forced
 * to "different", even the right key is refused. `node:crypto` is wrapped for this file only.
 */
import type * as Crypto from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

const spy = vi.hoisted(() => ({ force: null as boolean | null }));

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof Crypto>();
  const timingSafeEqual = vi.fn((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    const real = actual.timingSafeEqual(a, b);
    return spy.force ?? real;
  });
  return { ...actual, default: { ...actual, timingSafeEqual }, timingSafeEqual };
});

const { timingSafeEqual } = await import('node:crypto');
const { loadDefaultConfig } = await import('../../../domain/config');
const { openLedger } = await import('../../../ledger/open');
const { createAuthenticator, issueKey } = await import('../../../client/services/gateway-keys');

describe('constant-time secret comparison', () => {
  let ledger: Awaited<ReturnType<typeof openLedger>>;
  let key: string;
  let publicId: string;
  const compare = vi.mocked(timingSafeEqual);

  beforeAll(async () => {
    ledger = await openLedger({ inMemory: true });
    const config = (await loadDefaultConfig()).config;
    const issued = await issueKey(ledger, 'operator', { team: 'chatbot', role: 'member' }, config);
    key = issued.key;
    publicId = issued.record.publicId;
  });
  afterAll(() => ledger.close());
  beforeEach(() => {
    spy.force = null;
    compare.mockClear();
  });

  function comparedDigests() {
    expect(compare).toHaveBeenCalledTimes(1);
    const [a, b] = compare.mock.calls[0] ?? [];
    return [a?.byteLength, b?.byteLength];
  }

  it('compares the digests of a right secret with timingSafeEqual', async () => {
    expect((await createAuthenticator(ledger).authenticate(key)).ok).toBe(true);
    expect(comparedDigests()).toEqual([32, 32]);
  });

  it('compares a wrong secret with the right public id the same way', async () => {
    const forged = `ggk_${publicId}_${'Q'.repeat(40)}`;
    expect(await createAuthenticator(ledger).authenticate(forged)).toMatchObject({ code: 'invalid_api_key' });
    expect(comparedDigests()).toEqual([32, 32]);
  });

  it('compares once even when no key has the public id', async () => {
    const unknown = `ggk_${'0'.repeat(12)}_${'Q'.repeat(40)}`;
    expect(await createAuthenticator(ledger).authenticate(unknown)).toMatchObject({
      code: 'invalid_api_key',
    });
    expect(comparedDigests()).toEqual([32, 32]);
  });

  it('lets timingSafeEqual alone decide: forced to "different", the right key is refused', async () => {
    spy.force = false;
    expect(await createAuthenticator(ledger).authenticate(key)).toMatchObject({ code: 'invalid_api_key' });
    spy.force = null;
    expect((await createAuthenticator(ledger).authenticate(key)).ok).toBe(true);
  });
});
