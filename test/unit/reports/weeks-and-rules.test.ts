// ISO weeks in a time zone, the projection rule, refusal categories and the report JSON round trip.
import { describe, expect, it } from 'vitest';
import {
  buildWeeklyReport,
  projectMonthEnd,
  refusalCategory,
  type ReportContext,
} from '../../../domain/reports/figures';
import { parseReportJson, percent, signedPercent, toJson, usd } from '../../../domain/reports/format';
import {
  isoWeekOf,
  monthOfWeek,
  parseIsoWeek,
  shiftWeek,
  weekBefore,
  weekBounds,
  weeksBetween,
  weeksInYear,
} from '../../../domain/reports/iso-week';

describe('ISO weeks', () => {
  it('knows 53-week years', () => {
    expect(weeksInYear(2026)).toBe(53); // 1 Jan 2026 is a Thursday
    expect(weeksInYear(2027)).toBe(52);
    expect(parseIsoWeek('2026-W53')).toEqual({ year: 2026, week: 53 });
    expect(() => parseIsoWeek('2027-W53')).toThrow('2027 has no week 53');
    expect(() => parseIsoWeek('2026-47')).toThrow('week must look like 2026-W47');
  });

  it('finds the week just ended in the org zone, to the second', () => {
    expect(weekBefore(new Date('2026-11-23T08:00:00Z'), 'Europe/Berlin')).toBe('2026-W47');
    // Monday 00:30 in Berlin is still Sunday in UTC
    expect(weekBefore(new Date('2026-11-22T23:30:00Z'), 'Europe/Berlin')).toBe('2026-W47');
    expect(weekBefore(new Date('2026-11-22T23:30:00Z'), 'UTC')).toBe('2026-W46');
    expect(weekBefore(new Date('2027-01-04T09:00:00Z'), 'UTC')).toBe('2026-W53');
    expect(isoWeekOf(new Date('2021-01-01T12:00:00Z'), 'UTC')).toBe('2020-W53');
  });

  it('moves between weeks across years', () => {
    expect(shiftWeek('2026-W53', 1)).toBe('2027-W01');
    expect(shiftWeek('2027-W01', -2)).toBe('2026-W52');
    expect(weeksBetween('2026-W52', '2027-W02')).toEqual(['2026-W52', '2026-W53', '2027-W01', '2027-W02']);
    expect(() => weeksBetween('2026-W47', '2026-W46')).toThrow('before');
  });

  it('handles zones with half-hour offsets and DST weeks', () => {
    expect(weekBounds('2026-W47', 'Asia/Kolkata').start.toISOString()).toBe('2026-11-15T18:30:00.000Z');
    const ordinary = weekBounds('2026-W13', 'America/New_York');
    expect(ordinary.end.getTime() - ordinary.start.getTime()).toBe(7 * 86_400_000);
    // clocks go forward on Sunday 8 March 2026: that week is an hour short
    const dst = weekBounds('2026-W10', 'America/New_York');
    expect(dst.end.getTime() - dst.start.getTime()).toBe(7 * 86_400_000 - 3_600_000);
    expect(dst.midnights[7]!.toISOString()).toBe('2026-03-09T04:00:00.000Z');
  });

  it('takes the budget month from the week’s Sunday', () => {
    expect(monthOfWeek('2026-W44')).toEqual({ period: '2026-11', dayOfMonth: 1, daysInMonth: 30 });
    expect(monthOfWeek('2026-W47')).toEqual({ period: '2026-11', dayOfMonth: 22, daysInMonth: 30 });
    expect(monthOfWeek('2028-W09')).toEqual({ period: '2028-03', dayOfMonth: 5, daysInMonth: 31 });
  });
});

describe('report rules', () => {
  it('projects month-to-date spend linearly, rounded down', () => {
    expect(projectMonthEnd(100n, 1, 30)).toBe(3000n);
    expect(projectMonthEnd(10n, 3, 31)).toBe(103n); // 103.33...
    expect(projectMonthEnd(0n, 22, 30)).toBe(0n);
    expect(projectMonthEnd(7n, 30, 30)).toBe(7n);
    expect(() => projectMonthEnd(1n, 0, 30)).toThrow();
  });

  it('sorts refusal codes into the report categories', () => {
    expect(refusalCategory('model_not_allowed')).toBe('model_not_allowed');
    expect(refusalCategory('max_tokens_exceeded')).toBe('max_tokens');
    expect(refusalCategory('budget_exceeded')).toBe('budget');
    expect(refusalCategory('rate_limit_exceeded')).toBe('rate_limit');
    for (const code of ['invalid_api_key', 'revoked_api_key', 'expired_api_key', 'permission_denied'])
      expect(refusalCategory(code)).toBe('auth');
    expect(refusalCategory('team_paused')).toBe('other');
    expect(refusalCategory('toString')).toBe('other');
  });

  it('formats exact money and percents', () => {
    expect(usd(1_500_000n)).toBe('$0.0015');
    expect(usd(-2_000_000_000n)).toBe('-$2.00');
    expect(percent(-5)).toBe('-0.05%');
    expect(percent(27332)).toBe('273.32%');
    expect(signedPercent(1)).toBe('+0.01%');
    expect(signedPercent(null)).toBe('n/a');
  });

  it('round-trips a report through JSON with its bigints', () => {
    const context: ReportContext = {
      week: '2026-W47',
      timeZone: 'UTC',
      orgName: 'Org',
      start: '2026-11-16T00:00:00.000Z',
      end: '2026-11-23T00:00:00.000Z',
      days: ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
      month: { period: '2026-11', dayOfMonth: 22, daysInMonth: 30 },
      teams: [{ name: '42', monthlyBudgetNanos: 5n }],
      orgMonthlyCapNanos: 10n,
      generatedAt: '2026-11-23T00:00:00.000Z',
    };
    const report = buildWeeklyReport(
      {
        usage: [
          {
            team: '42',
            model: 'm',
            batch: true,
            keyName: 'k',
            keyVersion: 3,
            day: 2,
            requests: 1n,
            attempts: 2n,
            inputTokens: 3n,
            outputTokens: 4n,
            cachedTokens: 1n,
            costNanos: 9_007_199_254_740_993n,
          },
        ],
        previousWeekCost: [],
        monthToDateCost: [{ team: '42', costNanos: 9_007_199_254_740_993n }],
        refusals: [{ team: '42', reason: 'rate_limit_exceeded', count: 2n }],
        ledgerWeekCostNanos: 9_007_199_254_740_993n,
      },
      context,
    );
    expect(parseReportJson(toJson(report))).toEqual(report);
    expect(report.teams[0]!.label).toBe('42'); // a numeric team name stays a string
  });
});
