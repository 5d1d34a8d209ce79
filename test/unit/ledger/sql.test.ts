import { describe, expect, it } from 'vitest';
import {
  Mutex,
  parseNumeric,
  RetryTransaction,
  toJsonText,
  TransactionRetriesExhausted,
  withRetries,
} from '../../../ledger/sql';

describe('value decoding', () => {
  it('turns integral numeric text into exact bigints and leaves fractions alone', () => {
    expect(parseNumeric('123456789012345678901234567890')).toBe(123456789012345678901234567890n);
    expect(parseNumeric('-42')).toBe(-42n);
    expect(parseNumeric('7.000')).toBe(7n);
    expect(parseNumeric('7.5')).toBe('7.5');
  });

  it('writes bigints into JSON as decimal strings', () => {
    expect(toJsonText({ a: 9_007_199_254_740_993n, b: [1n] })).toBe('{"a":"9007199254740993","b":["1"]}');
    expect(toJsonText(undefined)).toBeNull();
  });
});

describe('withRetries', () => {
  it('retries serialization failures, deadlocks and RetryTransaction, and nothing else', async () => {
    let calls = 0;
    const result = await withRetries(5, async () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('could not serialize'), { code: '40001' });
      if (calls === 2) throw Object.assign(new Error('deadlock'), { code: '40P01' });
      if (calls === 3) throw new RetryTransaction('again');
      return 'done';
    });
    expect([result, calls]).toEqual(['done', 4]);

    let other = 0;
    const unique = Object.assign(new Error('duplicate'), { code: '23505' });
    await expect(
      withRetries(5, async () => {
        other++;
        throw unique;
      }),
    ).rejects.toBe(unique);
    expect(other).toBe(1);
  });

  it('gives up after the allowed attempts', async () => {
    await expect(
      withRetries(3, async () => {
        throw new RetryTransaction('always');
      }),
    ).rejects.toBeInstanceOf(TransactionRetriesExhausted);
  });
});

describe('Mutex', () => {
  it('runs callers one at a time in call order, even when one fails', async () => {
    const mutex = new Mutex();
    const events: string[] = [];
    const task = (name: string, fail = false) =>
      mutex.run(async () => {
        events.push(`start ${name}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        events.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([task('a'), task('b', true), task('c')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });
});
