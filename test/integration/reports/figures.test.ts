// Every figure of the weekly report, exactly, from a ledger seeded with known traffic (PGlite, and
// PostgreSQL when it answers). The expected numbers are worked out by hand in the comments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toJson } from '../../../domain/reports/format';
import { weekBounds } from '../../../domain/reports/iso-week';
import { renderCsv, renderConsole } from '../../../domain/reports/render-text';
import type { ScopeFigures, WeeklyReport } from '../../../domain/reports/figures';
import { openLedger, type LedgerStore } from '../../../ledger';
import { loadWeeklyReport } from '../../../ledger/reports';
import { REPORT_WEEK, reportConfig, seedReportLedger } from '../../support/report-seed';
import {
  pgliteTarget,
  postgresTarget,
  probePostgres,
  testDatabaseUrl,
  warnPostgresSkipped,
  type LedgerTestTarget,
} from '../ledger/harness';

const postgresUrl = testDatabaseUrl();
const postgresDown = await probePostgres(postgresUrl);
if (postgresDown) warnPostgresSkipped(postgresUrl, postgresDown);

const targets: [string, () => LedgerTestTarget, boolean][] = [
  ['PGlite', pgliteTarget, true],
  ['PostgreSQL', () => postgresTarget(postgresUrl, 2), postgresDown === null],
];

function team(report: WeeklyReport, name: string | null): ScopeFigures {
  const row = report.teams.find((t) => t.team === name);
  if (!row) throw new Error(`no row for ${name}`);
  return row;
}

describe('week bounds in the org time zone', () => {
  it('runs from Monday 00:00 to Monday 00:00 Berlin time', () => {
    const bounds = weekBounds(REPORT_WEEK, 'Europe/Berlin');
    expect(bounds.start.toISOString()).toBe('2026-11-15T23:00:00.000Z');
    expect(bounds.end.toISOString()).toBe('2026-11-22T23:00:00.000Z');
    expect(bounds.days).toEqual([
      '2026-11-16',
      '2026-11-17',
      '2026-11-18',
      '2026-11-19',
      '2026-11-20',
      '2026-11-21',
      '2026-11-22',
    ]);
    // the week with the change back to winter time has one 25-hour day
    const dst = weekBounds('2026-W43', 'Europe/Berlin');
    expect(dst.start.toISOString()).toBe('2026-10-18T22:00:00.000Z');
    expect(dst.end.toISOString()).toBe('2026-10-25T23:00:00.000Z');
  });
});

describe.each(targets)('weekly report figures on %s', (_name, makeTarget, available) => {
  let target: LedgerTestTarget;
  let ledger: LedgerStore;
  let report: WeeklyReport;
  const config = reportConfig();

  beforeAll(async () => {
    if (!available) return;
    target = makeTarget();
    ledger = await openLedger(await target.scratch());
    await seedReportLedger(ledger);
    report = await loadWeeklyReport(ledger.sql, config, REPORT_WEEK, new Date('2026-11-23T08:00:00Z'));
  });
  afterAll(async () => {
    await ledger?.close();
    await target?.cleanup();
  });

  it.skipIf(!available)('lists every configured team, in config order, then calls without a team', () => {
    expect(report.teams.map((t) => t.label)).toEqual(['alpha', 'beta', 'gamma', '(no team)']);
    expect(report.week).toBe('2026-W47');
    expect(report.days[0]).toBe('2026-11-16');
  });

  it.skipIf(!available)('alpha: cost, tokens, requests, batch share, top models, daily spend', () => {
    const alpha = team(report, 'alpha');
    // in the week: a1 70_000 + a-first-minute 11 + a2#0 0 + a2#1 50_000 + a3-batch 1_000_000 + a-last-second 5
    expect(alpha.totals).toEqual({
      costNanos: 1_120_016n,
      requests: 5n, // a2's two attempts are one request
      attempts: 6n,
      inputTokens: 2811n,
      outputTokens: 802n,
      cachedTokens: 100n,
    });
    expect(alpha.share.batch.costNanos).toBe(1_000_000n);
    expect(alpha.share.batch.requests).toBe(1n);
    expect(alpha.share.interactive.costNanos).toBe(120_016n);
    expect(alpha.share.interactive.requests).toBe(4n);
    expect(alpha.share.batchCostBasisPoints).toBe(8928); // 1_000_000 / 1_120_016 = 89.28...%
    expect(alpha.share.batchRequestsBasisPoints).toBe(2000);
    expect(alpha.topModelByCost).toEqual({
      model: 'llama-3.3-70b-versatile',
      costNanos: 1_000_000n,
      requests: 1n,
    });
    expect(alpha.topModelByRequests).toEqual({
      model: 'llama-3.1-8b-instant',
      costNanos: 120_016n,
      requests: 4n,
    });
    // Monday holds 00:30 Berlin (23:30Z the day before); Sunday holds 23:59:59 Berlin
    expect(alpha.dailyCostNanos).toEqual([70_011n, 50_000n, 1_000_000n, 0n, 0n, 0n, 5n]);
  });

  it.skipIf(!available)('alpha: refusals by reason, budget, projection, week over week, key versions', () => {
    const alpha = team(report, 'alpha');
    expect(alpha.refusals).toEqual({
      model_not_allowed: 2n,
      max_tokens: 1n,
      budget: 1n,
      rate_limit: 3n, // the one at 23:00 Berlin the Sunday before is last week's
      auth: 0n,
      other: 0n,
      total: 7n,
    });
    // November up to the week's end: 2_000_000 + 300_000 + 7 + 1_120_016 (the row at Monday 00:00 is next week's)
    expect(alpha.budget).toEqual({
      period: '2026-11',
      monthToDateNanos: 3_420_023n,
      monthlyBudgetNanos: 10_000_000n,
      usedBasisPoints: 3420,
      projectedMonthEndNanos: 4_663_667n, // 3_420_023 x 30 days / 22 days elapsed, rounded down
    });
    expect(alpha.weekOverWeek).toEqual({
      previousCostNanos: 300_007n,
      changeNanos: 820_009n,
      changeBasisPoints: 27332, // +273.32%
    });
    // a2's request counts where its first attempt went (version 1); its retry's cost on version 2
    expect(alpha.keyVersions).toEqual([
      {
        keyName: 'alpha-test-gateway',
        keyVersion: 1,
        costNanos: 70_011n,
        requests: 3n,
        attempts: 3n,
        inputTokens: 1001n,
        outputTokens: 201n,
        cachedTokens: 100n,
      },
      {
        keyName: 'alpha-test-gateway',
        keyVersion: 2,
        costNanos: 1_050_005n,
        requests: 2n,
        attempts: 3n,
        inputTokens: 1810n,
        outputTokens: 601n,
        cachedTokens: 0n,
      },
    ]);
  });

  it.skipIf(!available)('beta: a first week (no change percent) and its own refusals', () => {
    const beta = team(report, 'beta');
    expect(beta.totals).toEqual({
      costNanos: 600_000n,
      requests: 3n,
      attempts: 3n,
      inputTokens: 4300n,
      outputTokens: 400n,
      cachedTokens: 500n,
    });
    expect(beta.share.batchCostBasisPoints).toBe(6666);
    expect(beta.share.batchRequestsBasisPoints).toBe(3333);
    expect(beta.topModelByCost?.model).toBe('llama-3.3-70b-versatile');
    expect(beta.topModelByRequests).toEqual({
      model: 'llama-3.1-8b-instant',
      costNanos: 200_000n,
      requests: 2n,
    });
    expect(beta.refusals).toMatchObject({ budget: 1n, other: 1n, auth: 1n, total: 3n });
    expect(beta.refusalsByCode).toEqual([
      { reason: 'budget_exceeded', count: 1n },
      { reason: 'permission_denied', count: 1n },
      { reason: 'team_paused', count: 1n },
    ]);
    // October's row is another budget month
    expect(beta.budget.monthToDateNanos).toBe(600_000n);
    expect(beta.budget.usedBasisPoints).toBe(6000);
    expect(beta.budget.projectedMonthEndNanos).toBe(818_181n); // 600_000 x 30 / 22
    expect(beta.weekOverWeek).toEqual({
      previousCostNanos: 0n,
      changeNanos: 600_000n,
      changeBasisPoints: null,
    });
    expect(beta.dailyCostNanos).toEqual([0n, 0n, 0n, 500_000n, 100_000n, 0n, 0n]);
  });

  it.skipIf(!available)('gamma had no traffic and still has a row of zeros', () => {
    const gamma = team(report, 'gamma');
    expect(gamma.totals.costNanos).toBe(0n);
    expect(gamma.totals.requests).toBe(0n);
    expect(gamma.topModelByCost).toBeNull();
    expect(gamma.topModelByRequests).toBeNull();
    expect(gamma.refusals.total).toBe(0n);
    expect(gamma.budget).toEqual({
      period: '2026-11',
      monthToDateNanos: 0n,
      monthlyBudgetNanos: 2_000_000_000n,
      usedBasisPoints: 0,
      projectedMonthEndNanos: 0n,
    });
    expect(gamma.keyVersions).toEqual([]);
    expect(gamma.dailyCostNanos).toEqual([0n, 0n, 0n, 0n, 0n, 0n, 0n]);
  });

  it.skipIf(!available)('refusals of unknown keys land on the (no team) row', () => {
    const none = team(report, null);
    expect(none.refusals).toMatchObject({ auth: 2n, total: 2n });
    expect(none.totals.costNanos).toBe(0n);
    expect(none.budget.monthlyBudgetNanos).toBeNull();
    expect(none.budget.usedBasisPoints).toBeNull();
  });

  it.skipIf(!available)('the org equals the sum of the teams and the ledger', async () => {
    const org = report.org;
    const sum = (f: (s: ScopeFigures) => bigint) => report.teams.reduce((t, s) => t + f(s), 0n);
    expect(org.totals).toEqual({
      costNanos: 1_720_016n,
      requests: 8n,
      attempts: 9n,
      inputTokens: 7111n,
      outputTokens: 1202n,
      cachedTokens: 600n,
    });
    for (const key of [
      'costNanos',
      'requests',
      'attempts',
      'inputTokens',
      'outputTokens',
      'cachedTokens',
    ] as const) {
      expect(org.totals[key]).toBe(sum((s) => s.totals[key]));
    }
    const { rows } = await ledger.sql.query(
      `SELECT SUM(cost_nanos) AS total FROM usage_records WHERE started_at >= '2026-11-15T23:00:00Z' AND started_at < '2026-11-22T23:00:00Z'`,
    );
    expect(BigInt(String(rows[0]!.total))).toBe(1_720_016n);
    expect(report.reconciliation).toEqual({
      teamsSumNanos: 1_720_016n,
      ledgerNanos: 1_720_016n,
      matches: true,
    });
    expect(org.share.batchCostBasisPoints).toBe(8139);
    expect(org.share.batchRequestsBasisPoints).toBe(2500);
    expect(org.topModelByCost).toEqual({
      model: 'llama-3.3-70b-versatile',
      costNanos: 1_400_000n,
      requests: 2n,
    });
    expect(org.topModelByRequests).toEqual({
      model: 'llama-3.1-8b-instant',
      costNanos: 320_016n,
      requests: 6n,
    });
    expect(org.refusals).toEqual({
      model_not_allowed: 2n,
      max_tokens: 1n,
      budget: 2n,
      rate_limit: 3n,
      auth: 3n,
      other: 1n,
      total: 12n,
    });
    expect(org.budget).toEqual({
      period: '2026-11',
      monthToDateNanos: 4_020_023n,
      monthlyBudgetNanos: 1_000_000_000n,
      usedBasisPoints: 40,
      projectedMonthEndNanos: 5_481_849n, // 4_020_023 x 30 / 22
    });
    expect(org.weekOverWeek).toEqual({
      previousCostNanos: 300_007n,
      changeNanos: 1_420_009n,
      changeBasisPoints: 47332,
    });
    expect(org.dailyCostNanos).toEqual([70_011n, 50_000n, 1_000_000n, 500_000n, 100_000n, 0n, 5n]);
    expect(org.keyVersions.map((k) => [k.keyName, k.keyVersion, k.requests, k.costNanos])).toEqual([
      ['alpha-test-gateway', 1, 3n, 70_011n],
      ['alpha-test-gateway', 2, 2n, 1_050_005n],
      ['beta-test-gateway', 1, 3n, 600_000n],
    ]);
  });

  it.skipIf(!available)('the CSV, JSON and console outputs carry the exact figures', () => {
    const csv = renderCsv(report).trim().split('\n');
    expect(csv).toHaveLength(1 + 4 + 1);
    const header = csv[0]!.split(',');
    const org = csv[5]!.split(',');
    expect(org[header.indexOf('scope')]).toBe('org');
    expect(org[header.indexOf('cost_nanos')]).toBe('1720016');
    expect(org[header.indexOf('cost_usd')]).toBe('0.001720016');
    expect(org[header.indexOf('projected_month_end_nanos')]).toBe('5481849');
    const json = JSON.parse(toJson(report)) as { org: { totals: { costNanos: string } } };
    expect(json.org.totals.costNanos).toBe('1720016');
    const table = renderConsole(report);
    expect(table).toMatch(/alpha\s+\$0\.001120016\s+5\s/);
    expect(table).toContain('Acme Test');
  });
});
