import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  costOf,
  createPriceBook,
  priceOf,
  UnknownModelPriceError,
  worstCaseCost,
  type PriceBook,
  type PriceInput,
  type TokenUsage,
} from '../../domain/pricing';

// ---- exact rational reference, independent of pricing.ts's integer formula --------------------------

interface Rational {
  n: bigint;
  d: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function rat(n: bigint, d = 1n): Rational {
  const g = gcd(n, d) || 1n;
  return { n: n / g, d: d / g };
}

const add = (a: Rational, b: Rational) => rat(a.n * b.d + b.n * a.d, a.d * b.d);
const mul = (a: Rational, b: Rational) => rat(a.n * b.n, a.d * b.d);

/** "0.075" -> 75/1000 */
function fromDecimal(text: string): Rational {
  const [whole = '0', fraction = ''] = text.split('.');
  return rat(BigInt(whole + fraction), 10n ** BigInt(fraction.length));
}

function ceil(r: Rational): bigint {
  const q = r.n / r.d;
  return r.n % r.d === 0n || r.n < 0n ? q : q + 1n;
}

interface Prices {
  input: string;
  output: string;
  cachedInput?: string;
}

/** Exact cost in nanos, as a fraction: USD per 1M tokens, discounts as fractions, nothing rounded. */
function referenceCost(
  prices: Prices,
  discounts: { cached: number; batch: number },
  usage: Required<TokenUsage>,
  batch: boolean,
): Rational {
  const perToken = (usdPerMillion: Rational) => mul(usdPerMillion, rat(1_000_000_000n, 1_000_000n));
  const input = perToken(fromDecimal(prices.input));
  const output = perToken(fromDecimal(prices.output));
  const cached =
    prices.cachedInput !== undefined
      ? perToken(fromDecimal(prices.cachedInput))
      : mul(input, rat(BigInt(100 - discounts.cached), 100n));
  let total = add(
    add(
      mul(input, rat(BigInt(usage.promptTokens - usage.cachedTokens))),
      mul(output, rat(BigInt(usage.completionTokens))),
    ),
    mul(cached, rat(BigInt(usage.cachedTokens))),
  );
  if (batch) total = mul(total, rat(BigInt(100 - discounts.batch), 100n));
  return total;
}

// ---- generators ------------------------------------------------------------------------------------

/** USD per 1M tokens with up to 9 decimal places, as written in a config. */
const priceText = fc
  .tuple(fc.integer({ min: 0, max: 100 }), fc.stringMatching(/^[0-9]{0,9}$/))
  .map(([whole, fraction]) => (fraction === '' ? `${whole}` : `${whole}.${fraction}`));

const prices: fc.Arbitrary<Prices> = fc
  .tuple(priceText, priceText, fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }))
  .map(([input, output, cachedPercent]) => {
    if (cachedPercent === undefined) return { input, output };
    // an explicit cached price at or below the input price, still with up to 9 places
    const [whole = '0', fraction = ''] = input.split('.');
    const inputNanos = BigInt(whole + fraction.padEnd(9, '0'));
    const cachedNanos = (inputNanos * BigInt(cachedPercent)) / 100n;
    const text = `${cachedNanos / 1_000_000_000n}.${(cachedNanos % 1_000_000_000n).toString().padStart(9, '0')}`;
    return { input, output, cachedInput: text };
  });

const percent = fc.integer({ min: 0, max: 100 });

const usage: fc.Arbitrary<Required<TokenUsage>> = fc
  .tuple(fc.nat({ max: 2_000_000 }), fc.nat({ max: 2_000_000 }), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([promptTokens, completionTokens, cachedShare]) => ({
    promptTokens,
    completionTokens,
    cachedTokens: Math.floor(promptTokens * cachedShare),
  }));

function bookOf(p: Prices, cached: number, batch: number): PriceBook {
  return createPriceBook(
    { m: p as PriceInput },
    { cachedDiscountPercent: cached, batchDiscountPercent: batch },
  );
}

// ---- the reference table ---------------------------------------------------------------------------

const groq = createPriceBook({
  'llama-3.1-8b-instant': { input: '0.05', output: '0.08' },
  'llama-3.3-70b-versatile': { input: '0.59', output: '0.79' },
  'openai/gpt-oss-120b': { input: '0.15', output: '0.60' },
  'openai/gpt-oss-20b': { input: '0.075', output: '0.30' },
  'meta-llama/llama-4-scout-17b-16e-instruct': { input: '0.11', output: '0.34' },
  'meta-llama/llama-4-maverick-17b-128e-instruct': { input: '0.20', output: '0.60' },
  'qwen/qwen3-32b': { input: '0.29', output: '0.59' },
  'moonshotai/kimi-k2-instruct-0905': { input: '1.00', output: '3.00' },
});

describe("known examples from Groq's price table", () => {
  it.each([
    ['llama-3.3-70b-versatile', 1000, 500, 0, false, 985_000n],
    ['llama-3.3-70b-versatile', 1000, 500, 0, true, 492_500n],
    ['llama-3.1-8b-instant', 1_000_000, 1_000_000, 0, false, 130_000_000n], // $0.13
    ['moonshotai/kimi-k2-instruct-0905', 1_000_000, 1_000_000, 0, false, 4_000_000_000n], // $4
    ['moonshotai/kimi-k2-instruct-0905', 1, 0, 0, false, 1_000n],
    ['openai/gpt-oss-20b', 1, 0, 0, false, 75n],
    ['openai/gpt-oss-20b', 1, 0, 0, true, 38n], // 37.5 rounded up
    ['openai/gpt-oss-20b', 1, 0, 1, false, 38n], // cached at 50% off: 37.5 rounded up
    ['openai/gpt-oss-120b', 2000, 1000, 1000, false, 825_000n], // 1000*150 + 1000*75 + 1000*600
    ['qwen/qwen3-32b', 0, 0, 0, true, 0n],
  ] as const)(
    '%s: %i prompt + %i completion (%i cached), batch %s -> %i nanos',
    (model, p, c, cached, batch, cost) => {
      expect(
        costOf(groq, model, { promptTokens: p, completionTokens: c, cachedTokens: cached }, { batch }),
      ).toBe(cost);
    },
  );

  it('applies the batch discount to the sum, rounding once', () => {
    // gpt-oss-20b, batch: 1 uncached prompt token 37.5 + 2 cached tokens 18.75 each = 75 exactly;
    // rounding each part up first would give 38 + 38 = 76
    const usage = { promptTokens: 3, completionTokens: 0, cachedTokens: 2 };
    expect(costOf(groq, 'openai/gpt-oss-20b', usage, { batch: true })).toBe(75n);
    expect(costOf(groq, 'openai/gpt-oss-20b', usage)).toBe(150n);
  });

  it('refuses an unknown model instead of guessing a price', () => {
    expect(() => costOf(groq, 'gpt-4o', { promptTokens: 1, completionTokens: 1 })).toThrow(
      UnknownModelPriceError,
    );
    expect(() => priceOf(groq, 'toString')).toThrow(UnknownModelPriceError);
  });

  it('refuses impossible usage and discounts', () => {
    const model = 'llama-3.1-8b-instant';
    expect(() => costOf(groq, model, { promptTokens: 1, completionTokens: 0, cachedTokens: 2 })).toThrow(
      RangeError,
    );
    expect(() => costOf(groq, model, { promptTokens: -1, completionTokens: 0 })).toThrow(RangeError);
    expect(() => costOf(groq, model, { promptTokens: 1.5, completionTokens: 0 })).toThrow(RangeError);
    expect(() => costOf(groq, model, { promptTokens: 0, completionTokens: NaN })).toThrow(RangeError);
    expect(() => createPriceBook({}, { batchDiscountPercent: 101 })).toThrow(RangeError);
    expect(() => createPriceBook({}, { cachedDiscountPercent: 12.5 })).toThrow(RangeError);
    expect(() => createPriceBook({ m: { input: '-1', output: '1' } })).toThrow(RangeError);
  });
});

describe('costOf properties', () => {
  it('equals the exact rational cost rounded up, and is within one nano of it', () => {
    fc.assert(
      fc.property(prices, percent, percent, usage, fc.boolean(), (p, cached, batch, u, isBatch) => {
        const book = bookOf(p, cached, batch);
        const cost = costOf(book, 'm', u, { batch: isBatch });
        const exact = referenceCost(p, { cached, batch }, u, isBatch);
        expect(cost).toBe(ceil(exact));
        // 0 <= cost - exact < 1
        const over = add(rat(cost), rat(-exact.n, exact.d));
        expect(over.n >= 0n && over.n < over.d).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('is monotonic in prompt, completion and uncached tokens', () => {
    fc.assert(
      fc.property(
        prices,
        percent,
        percent,
        usage,
        fc.nat({ max: 10_000 }),
        fc.boolean(),
        (p, c, b, u, more, isBatch) => {
          const book = bookOf(p, c, b);
          const base = costOf(book, 'm', u, { batch: isBatch });
          expect(
            costOf(book, 'm', { ...u, completionTokens: u.completionTokens + more }, { batch: isBatch }),
          ).toBeGreaterThanOrEqual(base);
          expect(
            costOf(book, 'm', { ...u, promptTokens: u.promptTokens + more }, { batch: isBatch }),
          ).toBeGreaterThanOrEqual(base);
          // the same prompt with fewer of it cached never costs less
          const lessCached = Math.max(0, u.cachedTokens - more);
          expect(
            costOf(book, 'm', { ...u, cachedTokens: lessCached }, { batch: isBatch }),
          ).toBeGreaterThanOrEqual(base);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('cached tokens never cost more than uncached ones', () => {
    fc.assert(
      fc.property(prices, percent, percent, usage, fc.boolean(), (p, c, b, u, isBatch) => {
        const book = bookOf(p, c, b);
        const uncached = costOf(book, 'm', { ...u, cachedTokens: 0 }, { batch: isBatch });
        expect(costOf(book, 'm', u, { batch: isBatch })).toBeLessThanOrEqual(uncached);
      }),
      { numRuns: 1000 },
    );
  });

  it('batch never costs more than realtime, and is the discounted realtime exact cost rounded once', () => {
    fc.assert(
      fc.property(prices, percent, percent, usage, (p, c, b, u) => {
        const book = bookOf(p, c, b);
        const realtime = costOf(book, 'm', u);
        const batch = costOf(book, 'm', u, { batch: true });
        expect(batch).toBeLessThanOrEqual(realtime);
        const exactRealtime = referenceCost(p, { cached: c, batch: b }, u, false);
        expect(batch).toBe(ceil(mul(exactRealtime, rat(BigInt(100 - b), 100n))));
        if (b === 0) expect(batch).toBe(realtime);
        if (b === 100) expect(batch).toBe(0n);
      }),
      { numRuns: 1000 },
    );
  });

  it('is additive up to the one rounding: cost(a) + cost(b) - 1 <= cost(a + b) <= cost(a) + cost(b)', () => {
    fc.assert(
      fc.property(prices, percent, percent, usage, usage, fc.boolean(), (p, c, b, u1, u2, isBatch) => {
        const book = bookOf(p, c, b);
        const sum = {
          promptTokens: u1.promptTokens + u2.promptTokens,
          completionTokens: u1.completionTokens + u2.completionTokens,
          cachedTokens: u1.cachedTokens + u2.cachedTokens,
        };
        const together = costOf(book, 'm', sum, { batch: isBatch });
        const apart = costOf(book, 'm', u1, { batch: isBatch }) + costOf(book, 'm', u2, { batch: isBatch });
        expect(together).toBeLessThanOrEqual(apart);
        expect(together).toBeGreaterThanOrEqual(apart - 1n);
      }),
      { numRuns: 1000 },
    );
  });

  it('worstCaseCost bounds every call that stays within its completion allowance', () => {
    fc.assert(
      fc.property(
        prices,
        percent,
        percent,
        usage,
        fc.nat({ max: 10_000 }),
        fc.boolean(),
        (p, c, b, u, slack, isBatch) => {
          const book = bookOf(p, c, b);
          const worst = worstCaseCost(book, 'm', u.promptTokens, u.completionTokens + slack, {
            batch: isBatch,
          });
          expect(costOf(book, 'm', u, { batch: isBatch })).toBeLessThanOrEqual(worst);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a price written as a number costs the same as the same price written as a string', () => {
    fc.assert(
      fc.property(priceText, priceText, usage, (input, output, u) => {
        const asText = createPriceBook({ m: { input, output } });
        const asNumber = createPriceBook({ m: { input: Number(input), output: Number(output) } });
        // up to 9 places and at most 12 significant digits: the number's shortest form is the same decimal
        expect(costOf(asNumber, 'm', u)).toBe(costOf(asText, 'm', u));
      }),
      { numRuns: 500 },
    );
  });
});
