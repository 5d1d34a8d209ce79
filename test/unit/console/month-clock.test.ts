// The console's calendar: the budget month, today's day of it and the last seven local days, in the
// org's time zone (the overview's projection and its 7-day chart depend on it).
import { describe, expect, it } from 'vitest';
import { monthClock } from '../../../client/console/figures';

describe('the console month clock', () => {
  it('counts days in the org time zone, not UTC', () => {
    // 23:30 UTC on 30 November is already 1 December in Berlin
    const clock = monthClock(new Date('2026-11-30T23:30:00Z'), 'Europe/Berlin');
    expect(clock).toMatchObject({ period: '2026-12', dayOfMonth: 1, daysInMonth: 31 });
    expect(clock.days).toEqual([
      '2026-11-25',
      '2026-11-26',
      '2026-11-27',
      '2026-11-28',
      '2026-11-29',
      '2026-11-30',
      '2026-12-01',
    ]);
    expect(clock.midnights[0]!.toISOString()).toBe('2026-11-24T23:00:00.000Z');
    expect(clock.midnights[7]!.toISOString()).toBe('2026-12-01T23:00:00.000Z');
    const utc = monthClock(new Date('2026-11-30T23:30:00Z'), 'UTC');
    expect(utc).toMatchObject({ period: '2026-11', dayOfMonth: 30, daysInMonth: 30 });
  });

  it('knows February and leap years', () => {
    expect(monthClock(new Date('2028-02-10T12:00:00Z'), 'UTC').daysInMonth).toBe(29);
    expect(monthClock(new Date('2027-02-10T12:00:00Z'), 'UTC').daysInMonth).toBe(28);
  });
});
