/**
 * The report as one self-contained HTML page: inline CSS and inline SVG charts drawn here (no script,
 * no CDN, no external file). Pixel geometry is computed with numbers; every figure shown is exact.
 */
import { REFUSAL_CATEGORIES, type ScopeFigures, type WeeklyReport } from './figures';
import { count, escapeHtml as h, percent, signedPercent, signedUsd, usd } from './format';

const PALETTE = [
  '#4f46e5',
  '#0891b2',
  '#16a34a',
  '#ca8a04',
  '#dc2626',
  '#9333ea',
  '#db2777',
  '#0d9488',
  '#64748b',
];

function colour(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

/** Nanos to a plotting number in USD (display geometry only). */
function plot(nanos: bigint): number {
  return Number(nanos) / 1e9;
}

/** Axis labels: cents for dollars, two significant digits below a cent. */
function axisLabel(value: number): string {
  if (value === 0) return '0';
  return value >= 0.01 ? value.toFixed(2) : value.toPrecision(2);
}

/** Stacked columns: one column per day, one segment per team. */
export function dailySpendChart(report: Pick<WeeklyReport, 'days' | 'teams'>): string {
  const width = 930;
  const height = 300;
  const left = 70;
  const bottom = 40;
  const top = 20;
  const plotHeight = height - bottom - top;
  const totals = report.days.map((_, day) =>
    report.teams.reduce((sum, t) => sum + (t.dailyCostNanos[day] ?? 0n), 0n),
  );
  const max = Math.max(...totals.map(plot), 0);
  const scale = max > 0 ? plotHeight / max : 0;
  const slot = (width - left - 10) / report.days.length;
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const y = top + plotHeight - (plotHeight * i) / 4;
    const value = (max * i) / 4;
    parts.push(
      `<line x1="${left}" x2="${width - 10}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e7eb"/>`,
    );
    parts.push(
      `<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" class="axis">$${axisLabel(value)}</text>`,
    );
  }
  report.days.forEach((day, d) => {
    const x = left + d * slot + slot * 0.15;
    let y = top + plotHeight;
    report.teams.forEach((team, t) => {
      const value = team.dailyCostNanos[d] ?? 0n;
      if (value === 0n) return;
      const barHeight = plot(value) * scale;
      y -= barHeight;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${Math.max(barHeight, 0.5).toFixed(1)}" fill="${colour(t)}"><title>${h(team.label)} ${day}: ${usd(value)}</title></rect>`,
      );
    });
    parts.push(
      `<text x="${(x + slot * 0.35).toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle" class="axis">${h(day.slice(5))}</text>`,
    );
  });
  const legend = report.teams
    .map((team, t) => `<span class="key"><i style="background:${colour(t)}"></i>${h(team.label)}</span>`)
    .join(' ');
  return `<figure><svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="Spend per team per day">${parts.join('')}</svg><figcaption>Spend per team per day (USD). ${legend}</figcaption></figure>`;
}

/** Horizontal bars: month-to-date spend against the monthly budget, with the projection marked. */
export function budgetChart(scopes: ScopeFigures[]): string {
  const width = 930;
  const rowHeight = 34;
  const left = 150;
  const right = 300;
  const height = scopes.length * rowHeight + 20;
  const span = width - left - right;
  const parts: string[] = [];
  scopes.forEach((scope, i) => {
    const y = 10 + i * rowHeight;
    const budget = scope.budget.monthlyBudgetNanos;
    const used = scope.budget.monthToDateNanos;
    const projected = scope.budget.projectedMonthEndNanos;
    const reference = Math.max(plot(budget ?? 0n), plot(used), plot(projected), 1e-9);
    const w = (value: bigint) => (plot(value) / reference) * span;
    const over = budget !== null && used > budget;
    parts.push(
      `<text x="${left - 8}" y="${y + 17}" text-anchor="end" class="label">${h(scope.label)}</text>`,
    );
    if (budget !== null)
      parts.push(
        `<rect x="${left}" y="${y + 4}" width="${w(budget).toFixed(1)}" height="18" fill="#e5e7eb"/>`,
      );
    parts.push(
      `<rect x="${left}" y="${y + 4}" width="${Math.max(w(used), used > 0n ? 1 : 0).toFixed(1)}" height="18" fill="${over ? '#dc2626' : '#4f46e5'}"><title>${usd(used)} used</title></rect>`,
    );
    parts.push(
      `<line x1="${(left + w(projected)).toFixed(1)}" x2="${(left + w(projected)).toFixed(1)}" y1="${y}" y2="${y + 26}" stroke="#f59e0b" stroke-width="2" stroke-dasharray="3 2"><title>projected ${usd(projected)}</title></line>`,
    );
    const text =
      budget === null
        ? `${usd(used)} (no budget)`
        : `${usd(used)} of ${usd(budget)} (${percent(scope.budget.usedBasisPoints)})`;
    parts.push(`<text x="${width - right + 8}" y="${y + 17}" class="label">${h(text)}</text>`);
  });
  return `<figure><svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="Budget used against budget">${parts.join('')}</svg><figcaption>Month-to-date spend against the monthly budget (grey); the dashed line is the projected month end.</figcaption></figure>`;
}

function tableHtml(header: string[], body: string[][], numericFrom = 1): string {
  const head = header.map((c, i) => `<th${i >= numericFrom ? ' class="n"' : ''}>${h(c)}</th>`).join('');
  const rows = body
    .map(
      (row) =>
        `<tr>${row.map((c, i) => `<td${i >= numericFrom ? ' class="n"' : ''}>${h(c)}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;margin:0;background:#f9fafb}
main{max-width:980px;margin:0 auto;padding:28px 24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.sub{color:#6b7280;margin:0 0 18px}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:12px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:12px 14px}
.card b{display:block;font-size:20px}.card span{color:#6b7280;font-size:12px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e5e7eb;font-size:13px}
th,td{padding:6px 8px;border-bottom:1px solid #f3f4f6;text-align:left}th{background:#f3f4f6;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr:last-child td{border-bottom:none}
figure{background:#fff;border:1px solid #e5e7eb;border-radius:10px;margin:0;padding:12px}
figcaption{color:#6b7280;font-size:12px;margin-top:6px}
.axis{font-size:11px;fill:#6b7280}.label{font-size:12px;fill:#111827}
.key{margin-right:10px;white-space:nowrap}.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.ok{color:#16a34a}.bad{color:#dc2626}`;

export function renderHtml(
  report: Pick<
    WeeklyReport,
    'week' | 'orgName' | 'timeZone' | 'days' | 'generatedAt' | 'projectionRule' | 'teams'
  > &
    Partial<Pick<WeeklyReport, 'org' | 'reconciliation'>>,
): string {
  const all = report.org ? [...report.teams, report.org] : report.teams;
  const headline = report.org ?? report.teams[0];
  const cards = headline
    ? [
        [
          usd(headline.totals.costNanos),
          `spend (${signedPercent(headline.weekOverWeek.changeBasisPoints)} w/w)`,
        ],
        [count(headline.totals.requests), 'requests'],
        [percent(headline.budget.usedBasisPoints), `of the ${headline.budget.period} budget used`],
        [usd(headline.budget.projectedMonthEndNanos), 'projected month end'],
      ]
        .map(([value, label]) => `<div class="card"><b>${h(value!)}</b><span>${h(label!)}</span></div>`)
        .join('')
    : '';
  const reconciliation = report.reconciliation
    ? `<p class="${report.reconciliation.matches ? 'ok' : 'bad'}">Ledger reconciliation: teams ${usd(report.reconciliation.teamsSumNanos)}, ledger ${usd(report.reconciliation.ledgerNanos)}: ${report.reconciliation.matches ? 'matches' : 'MISMATCH'}.</p>`
    : '';
  const keyRows = report.teams.flatMap((s) =>
    s.keyVersions.map((k) => [
      s.label,
      k.keyName,
      String(k.keyVersion),
      count(k.requests),
      count(k.inputTokens + k.outputTokens),
      usd(k.costNanos),
    ]),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${h(report.orgName)}: Groq usage ${h(report.week)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body><main>
<h1>${h(report.orgName)}: Groq usage, week ${h(report.week)}</h1>
<p class="sub">${h(report.days[0] ?? '')} to ${h(report.days[6] ?? '')} (${h(report.timeZone)}). Generated ${h(report.generatedAt)}.</p>
<div class="cards">${cards}</div>
${reconciliation}
<h2>Spend per team per day</h2>
${dailySpendChart(report)}
<h2>Budget used against budget</h2>
${budgetChart(all)}
<h2>Spend and traffic</h2>
${tableHtml(
  [
    'team',
    'cost',
    'requests',
    'input',
    'output',
    'cached',
    'batch cost share',
    'top model (cost)',
    'top model (requests)',
    'week over week',
  ],
  all.map((s) => [
    s.label,
    usd(s.totals.costNanos),
    count(s.totals.requests),
    count(s.totals.inputTokens),
    count(s.totals.outputTokens),
    count(s.totals.cachedTokens),
    percent(s.share.batchCostBasisPoints),
    s.topModelByCost?.model ?? '-',
    s.topModelByRequests?.model ?? '-',
    `${signedUsd(s.weekOverWeek.changeNanos)} (${signedPercent(s.weekOverWeek.changeBasisPoints)})`,
  ]),
)}
<h2>Refusals</h2>
${tableHtml(
  ['team', ...REFUSAL_CATEGORIES.map((c) => c.replace(/_/g, ' ')), 'total'],
  all.map((s) => [s.label, ...REFUSAL_CATEGORIES.map((c) => count(s.refusals[c])), count(s.refusals.total)]),
)}
<h2>Traffic per upstream key version</h2>
${keyRows.length ? tableHtml(['team', 'key', 'version', 'requests', 'tokens', 'cost'], keyRows, 2) : '<p>No traffic.</p>'}
<p class="sub">Projection: ${h(report.projectionRule)}.</p>
</main></body></html>
`;
}
