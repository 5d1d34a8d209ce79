import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ceilDiv,
  formatUsd,
  formatUsdCents,
  NANOS_PER_USD,
  numberToDecimalString,
  parseScaledDecimal,
  sumNanos,
  usdToNanos,
} from '../../domain/money';

/** A non-negative decimal text with up to 9 places, and its value in nanos computed from the digits. */
const decimal = fc
  .tuple(
    fc.bigInt({ min: 0n, max: 10n ** 18n }),
    fc.stringMatching(/^[0-9]{0,9}$/),
    fc.constantFrom('', '0', '000'), // trailing zeros past the 9th place are harmless
  )
  .map(([whole, fraction, extraZeros]) => {
    const places = fraction + (fraction.length === 9 ? extraZeros : '');
    const text = places === '' ? `${whole}` : `${whole}.${places}`;
    const nanos = whole * NANOS_PER_USD + BigInt(fraction.padEnd(9, '0'));
    return { text, nanos };
  });

const nanos = fc.bigInt({ min: 0n, max: 10n ** 27n });
const signedNanos = fc.bigInt({ min: -(10n ** 27n), max: 10n ** 27n });

/** Schoolbook addition of two non-negative decimal strings, digit by digit. */
function addDecimalText(a: string, b: string): string {
  const [aw = '0', af = ''] = a.split('.');
  const [bw = '0', bf = ''] = b.split('.');
  const places = Math.max(af.length, bf.length);
  const width = Math.max(aw.length, bw.length) + 1;
  const x = aw.padStart(width, '0') + af.padEnd(places, '0');
  const y = bw.padStart(width, '0') + bf.padEnd(places, '0');
  let carry = 0;
  let digits = '';
  for (let i = x.length - 1; i >= 0; i--) {
    const sum = Number(x[i]) + Number(y[i]) + carry;
    digits = String(sum % 10) + digits;
    carry = sum >= 10 ? 1 : 0;
  }
  const whole = digits.slice(0, width).replace(/^0+(?=\d)/, '');
  const fraction = digits.slice(width);
  return fraction === '' ? whole : `${whole}.${fraction}`;
}

/** The decimal text trimmed: no trailing fractional zeros, no lone point. */
function trimmed(text: string): string {
  if (!text.includes('.')) return text.replace(/^0+(?=\d)/, '');
  const [whole = '0', fraction = ''] = text.split('.');
  const f = fraction.replace(/0+$/, '');
  const w = whole.replace(/^0+(?=\d)/, '');
  return f === '' ? w : `${w}.${f}`;
}

describe('usdToNanos and formatUsd', () => {
  it('parses a decimal with up to 9 places exactly', () => {
    fc.assert(
      fc.property(decimal, ({ text, nanos }) => {
        expect(usdToNanos(text)).toBe(nanos);
      }),
      { numRuns: 1000 },
    );
  });

  it('format then parse is the identity on nanos', () => {
    fc.assert(
      fc.property(nanos, fc.integer({ min: 0, max: 9 }), (amount, minDigits) => {
        expect(usdToNanos(formatUsd(amount, minDigits))).toBe(amount);
      }),
      { numRuns: 1000 },
    );
  });

  it('parse then format gives back the text without trailing zeros', () => {
    fc.assert(
      fc.property(decimal, ({ text }) => {
        expect(formatUsd(usdToNanos(text), 0)).toBe(trimmed(text));
      }),
      { numRuns: 1000 },
    );
  });

  it('formatUsd keeps at least the asked places and mirrors negatives', () => {
    fc.assert(
      fc.property(signedNanos, fc.integer({ min: 0, max: 12 }), (amount, minDigits) => {
        const text = formatUsd(amount, minDigits);
        const fraction = text.split('.')[1] ?? '';
        expect(fraction.length).toBeGreaterThanOrEqual(minDigits);
        expect(fraction.length).toBeLessThanOrEqual(Math.max(9, minDigits));
        if (amount < 0n) expect(text).toBe('-' + formatUsd(-amount, minDigits));
      }),
    );
    expect(formatUsd(0n)).toBe('0.00');
    expect(formatUsd(1_500_000n)).toBe('0.0015');
    expect(formatUsd(985_000n)).toBe('0.000985');
    expect(formatUsd(-1n)).toBe('-0.000000001');
    expect(formatUsd(12_000_000_000n, 0)).toBe('12');
  });

  it('refuses what is not an exact non-negative amount', () => {
    for (const bad of ['', '-1', '1.', '.5', '1e3', '1,5', '0x10', 'NaN', '1.0000000001', ' 1 2', '١٢']) {
      expect(() => usdToNanos(bad), bad).toThrow(RangeError);
    }
    for (const bad of [-1, NaN, Infinity, 1e-10])
      expect(() => usdToNanos(bad), String(bad)).toThrow(RangeError);
    expect(usdToNanos(' 12.50 ')).toBe(12_500_000_000n);
    expect(usdToNanos('0007.000000001000')).toBe(7_000_000_001n);
  });

  it('usdToNanos(a) + usdToNanos(b) === usdToNanos(a + b added in decimal)', () => {
    expect(addDecimalText('0.1', '0.2')).toBe('0.3');
    expect(addDecimalText('999.999999999', '0.000000001')).toBe('1000.000000000');
    fc.assert(
      fc.property(decimal, decimal, (a, b) => {
        expect(usdToNanos(a.text) + usdToNanos(b.text)).toBe(usdToNanos(addDecimalText(a.text, b.text)));
      }),
      { numRuns: 1000 },
    );
    // the case floats get wrong
    expect(usdToNanos(0.1) + usdToNanos(0.2)).toBe(usdToNanos('0.3'));
  });

  it('a number is read through its shortest decimal form, exactly', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n - 1n }),
        fc.integer({ min: 0, max: 9 }),
        (digits, places) => {
          // at most 15 significant digits, so the double's shortest form is the text itself
          const padded = digits.toString().padStart(places + 1, '0');
          const text = places === 0 ? padded : `${padded.slice(0, -places)}.${padded.slice(-places)}`;
          expect(usdToNanos(Number(text))).toBe(usdToNanos(text));
        },
      ),
      { numRuns: 1000 },
    );
    expect(usdToNanos(1e-7)).toBe(100n);
    expect(usdToNanos(1e21)).toBe(10n ** 30n);
    expect(usdToNanos(0.59)).toBe(590_000_000n);
  });
});

describe('numberToDecimalString', () => {
  it('is a plain decimal that reads back as the same number', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), (value) => {
        const text = numberToDecimalString(value);
        expect(text).toMatch(/^\d+(\.\d+)?$/);
        expect(Number(text)).toBe(value === 0 ? 0 : value);
      }),
      { numRuns: 2000 },
    );
    expect(numberToDecimalString(5e-324)).toBe('0.' + '0'.repeat(323) + '5');
    expect(numberToDecimalString(1.5e-7)).toBe('0.00000015');
    expect(numberToDecimalString(-0)).toBe('0');
  });
});

describe('parseScaledDecimal', () => {
  it('scales by any number of digits, refusing lost precision', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.integer({ min: 0, max: 12 }),
        (scaled, digits) => {
          const factor = 10n ** BigInt(digits);
          const whole = scaled / factor;
          const fraction = (scaled % factor).toString().padStart(digits, '0');
          const text = digits === 0 ? `${whole}` : `${whole}.${fraction}`;
          expect(parseScaledDecimal(text, digits)).toBe(scaled);
          expect(() => parseScaledDecimal(`${text}${digits === 0 ? '.' : ''}1`, digits)).toThrow(RangeError);
        },
      ),
    );
  });
});

describe('sums of nanos', () => {
  it('are exact: equal to the decimal sum of the amounts', () => {
    fc.assert(
      fc.property(fc.array(decimal, { maxLength: 30 }), (amounts) => {
        const decimalSum = amounts.reduce((sum, { text }) => addDecimalText(sum, text), '0');
        expect(sumNanos(amounts.map(({ nanos }) => nanos))).toBe(usdToNanos(decimalSum));
      }),
    );
  });

  it('are associative and do not depend on order', () => {
    const amountsAndPermutation = fc
      .array(signedNanos, { maxLength: 40 })
      .chain((amounts) =>
        fc.tuple(
          fc.constant(amounts),
          fc.shuffledSubarray(amounts, { minLength: amounts.length, maxLength: amounts.length }),
          fc.nat({ max: amounts.length }),
        ),
      );
    fc.assert(
      fc.property(amountsAndPermutation, ([amounts, permuted, cut]) => {
        const whole = sumNanos(amounts);
        expect(sumNanos([sumNanos(amounts.slice(0, cut)), sumNanos(amounts.slice(cut))])).toBe(whole);
        expect(sumNanos(permuted)).toBe(whole);
        expect(whole).toBe(amounts.reduce((a, b) => a + b, 0n));
      }),
    );
    fc.assert(
      fc.property(signedNanos, signedNanos, signedNanos, (a, b, c) => {
        expect(sumNanos([sumNanos([a, b]), c])).toBe(sumNanos([a, sumNanos([b, c])]));
      }),
    );
    // a thousand amounts of a tenth of a cent are exactly one dollar
    expect(sumNanos(Array.from({ length: 1000 }, () => usdToNanos('0.001')))).toBe(NANOS_PER_USD);
  });
});

describe('ceilDiv and formatUsdCents', () => {
  it('ceilDiv is the smallest q with q * d >= n', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        (n, d) => {
          const q = ceilDiv(n, d);
          expect(q * d >= n).toBe(true);
          expect((q - 1n) * d < n).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
    expect(() => ceilDiv(1n, 0n)).toThrow(RangeError);
  });

  it('formatUsdCents rounds half away from zero', () => {
    fc.assert(
      fc.property(signedNanos, (amount) => {
        const abs = amount < 0n ? -amount : amount;
        const text = formatUsdCents(amount);
        const cents = BigInt(text.replace(/[-$.]/g, ''));
        // |cents * 1e7 - abs| <= 0.5 cent, and exactly half goes up
        const diff = cents * 10_000_000n - abs;
        expect(diff >= -5_000_000n && diff < 5_000_000n).toBe(true);
        expect(text.startsWith('-')).toBe(amount < 0n && cents > 0n);
      }),
      { numRuns: 1000 },
    );
    expect(formatUsdCents(5_000_000n)).toBe('$0.01');
    expect(formatUsdCents(4_999_999n)).toBe('$0.00');
    expect(formatUsdCents(-5_000_000n)).toBe('-$0.01');
    expect(formatUsdCents(-4_999_999n)).toBe('$0.00');
    expect(formatUsdCents(1_234_567_890_000n)).toBe('$1234.57');
  });
});
