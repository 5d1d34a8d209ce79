// The HTML report renders in headless Chromium (Debian's `chromium`); the screenshot is kept as a test
// artifact in test-artifacts/. Without Chromium the test fails under CI (`CI` set, or GOVERNOR_REQUIRE_CHROMIUM=1 as
// .ci/run sets it) and is skipped with a banner elsewhere.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../../domain/reports/render-html';
import { openLedger, type LedgerStore } from '../../../ledger';
import { loadWeeklyReport } from '../../../ledger/reports';
import { REPORT_WEEK, reportConfig, seedReportLedger } from '../../support/report-seed';

const run = promisify(execFile);
const ARTIFACTS = resolve('test-artifacts');
const SCREENSHOT = join(ARTIFACTS, `weekly-report-${REPORT_WEEK}.png`);

function findChromium(): string | undefined {
  const candidates = [
    process.env.GOVERNOR_CHROMIUM,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ].filter((path): path is string => Boolean(path));
  return candidates.find((path) => existsSync(path));
}

const chromium = findChromium();
if (!chromium) {
  const message = 'Chromium not found (apt-get install -y chromium, or set GOVERNOR_CHROMIUM)';
  if (process.env.CI || process.env.GOVERNOR_REQUIRE_CHROMIUM === '1')
    throw new Error(`${message}: the HTML report cannot be checked`);
  console.warn(`${'!'.repeat(100)}\n! ${message}: SKIPPING the HTML rendering test\n${'!'.repeat(100)}`);
}

describe.skipIf(!chromium)('the HTML report in headless Chromium', () => {
  let ledger: LedgerStore;
  let folder: string;
  let page: string;
  let html: string;

  beforeAll(async () => {
    ledger = await openLedger({ inMemory: true });
    await seedReportLedger(ledger);
    const report = await loadWeeklyReport(
      ledger.sql,
      reportConfig(),
      REPORT_WEEK,
      new Date('2026-11-23T08:00:00Z'),
    );
    html = renderHtml(report);
    folder = await mkdtemp(join(tmpdir(), 'gg-report-html-'));
    page = join(folder, 'report.html');
    await writeFile(page, html);
    await mkdir(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await ledger?.close();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  const flags = (profile: string) => [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--hide-scrollbars',
    '--no-first-run',
    '--disable-background-networking',
    `--user-data-dir=${profile}`,
  ];

  it('is self-contained: no script, no external resource', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
  });

  it('renders both charts and the tables', async () => {
    const { stdout } = await run(
      chromium!,
      [...flags(join(folder, 'profile-dom')), '--dump-dom', `file://${page}`],
      {
        maxBuffer: 20 * 1024 * 1024,
        timeout: 60_000,
      },
    );
    expect(stdout).toContain('aria-label="Spend per team per day"');
    expect(stdout).toContain('aria-label="Budget used against budget"');
    // stacked columns: alpha on Mon, Tue, Wed, Sun; beta on Thu, Fri (one rect per non-zero team-day)
    const daily = stdout.slice(
      stdout.indexOf('Spend per team per day"'),
      stdout.indexOf('Budget used against budget"'),
    );
    expect(daily.match(/<rect /g)).toHaveLength(6);
    expect(stdout).toContain('<title>alpha 2026-11-18: $0.001</title>');
    expect(stdout).toContain('$0.003420023 of $0.01 (34.20%)');
  });

  it('takes a screenshot, kept in test-artifacts/', async () => {
    await rm(SCREENSHOT, { force: true });
    await run(
      chromium!,
      [
        ...flags(join(folder, 'profile-shot')),
        `--screenshot=${SCREENSHOT}`,
        '--window-size=1100,1900',
        `file://${page}`,
      ],
      { timeout: 60_000 },
    );
    const png = await readFile(SCREENSHOT);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(1100); // IHDR width
    expect(png.readUInt32BE(20)).toBe(1900); // IHDR height
    // a blank page compresses to a few KB; charts, cards and tables do not
    expect((await stat(SCREENSHOT)).size).toBeGreaterThan(40_000);
  });
});
