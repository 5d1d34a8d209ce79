import { describe, expect, it } from 'vitest';
import { formatGoDuration, formatResetDuration, retryAfterSeconds } from '../../../emulator/duration';

const ms = (value: number): bigint => BigInt(Math.round(value * 1e6));
const s = (value: number): bigint => BigInt(Math.round(value * 1e9));

describe('Go-style durations', () => {
  it('formats like time.Duration.String()', () => {
    expect(formatGoDuration(0n)).toBe('0s');
    expect(formatGoDuration(1n)).toBe('1ns');
    expect(formatGoDuration(1_500n)).toBe('1.5µs');
    expect(formatGoDuration(ms(480))).toBe('480ms');
    expect(formatGoDuration(1_984_999_999n)).toBe('1.984999999s');
    expect(formatGoDuration(s(7.66))).toBe('7.66s');
    expect(formatGoDuration(s(179.56))).toBe('2m59.56s');
    expect(formatGoDuration(s(120))).toBe('2m0s');
    expect(formatGoDuration(s(3600))).toBe('1h0m0s');
    expect(formatGoDuration(s(86399.5))).toBe('23h59m59.5s');
  });

  it('rounds reset headers up to 10 ms', () => {
    expect(formatResetDuration(0n)).toBe('0s');
    expect(formatResetDuration(-5n)).toBe('0s');
    expect(formatResetDuration(1n)).toBe('10ms');
    expect(formatResetDuration(s(7.651))).toBe('7.66s');
    expect(formatResetDuration(s(7.66))).toBe('7.66s');
    expect(formatResetDuration(s(179.555))).toBe('2m59.56s');
    expect(formatResetDuration(ms(400))).toBe('400ms');
  });

  it('gives retry-after in whole seconds, rounded up, at least 1', () => {
    expect(retryAfterSeconds(0n)).toBe(1);
    expect(retryAfterSeconds(ms(1))).toBe(1);
    expect(retryAfterSeconds(1_984_999_999n)).toBe(2);
    expect(retryAfterSeconds(s(2))).toBe(2);
    expect(retryAfterSeconds(s(2) + 1n)).toBe(3);
  });
});
