/** The report as Markdown, CSV, a console table and a Slack-compatible message. */
import { formatUsd } from '../money';
import { REFUSAL_CATEGORIES, type ScopeFigures, type WeeklyReport } from './figures';
import { count, percent, signedPercent, signedUsd, usd } from './format';

function rows(report: Pick<WeeklyReport, 'teams'> & { org?: ScopeFigures }): ScopeFigures[] {
  return report.org ? [...report.teams, report.org] : report.teams;
}

function topModel(scope: ScopeFigures, by: 'cost' | 'requests'): string {
  const top = by === 'cost' ? scope.topModelByCost : scope.topModelByRequests;
  if (!top) return '-';
  return by === 'cost' ? `${top.model} (${usd(top.costNanos)})` : `${top.model} (${count(top.requests)})`;
}

function budgetCell(scope: ScopeFigures): string {
  const budget = scope.budget.monthlyBudgetNanos;
  return budget === null
    ? `${usd(scope.budget.monthToDateNanos)} (no budget)`
    : `${usd(scope.budget.monthToDateNanos)} of ${usd(budget)} (${percent(scope.budget.usedBasisPoints)})`;
}

function table(header: string[], body: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...body.map(line)].join('\n');
}

const UNIT_LABELS: Record<string, string> = {
  tokens: 'tokens',
  audio_seconds: 'audio seconds',
  characters: 'characters',
};

export function renderMarkdown(report: WeeklyReport): string {
  const all = rows(report);
  const out: string[] = [];
  out.push(`# ${report.orgName}: Groq usage, week ${report.week}`);
  out.push('');
  out.push(
    `${report.days[0]} to ${report.days[6]} (${report.timeZone}). Total ${usd(report.org.totals.costNanos)} ` +
      `over ${count(report.org.totals.requests)} requests, ${signedPercent(report.org.weekOverWeek.changeBasisPoints)} ` +
      `on the week before. Ledger reconciliation: ${report.reconciliation.matches ? 'matches' : 'MISMATCH'} ` +
      `(teams ${usd(report.reconciliation.teamsSumNanos)}, ledger ${usd(report.reconciliation.ledgerNanos)}).`,
  );
  out.push('');
  out.push('## Spend and traffic');
  out.push('');
  out.push(
    table(
      [
        'team',
        'cost',
        'requests',
        'input tokens',
        'output tokens',
        'cached tokens',
        'batch share (cost / requests)',
        'week over week',
      ],
      all.map((s) => [
        s.label,
        usd(s.totals.costNanos),
        count(s.totals.requests),
        count(s.totals.inputTokens),
        count(s.totals.outputTokens),
        count(s.totals.cachedTokens),
        `${percent(s.share.batchCostBasisPoints)} / ${percent(s.share.batchRequestsBasisPoints)}`,
        `${signedUsd(s.weekOverWeek.changeNanos)} (${signedPercent(s.weekOverWeek.changeBasisPoints)})`,
      ]),
    ),
  );
  out.push('');
  out.push('## Spend per modality');
  out.push('');
  const modalityRows = all.flatMap((s) =>
    s.modalities.map((m) => [
      s.label,
      m.endpoint,
      count(m.requests),
      `${count(m.quantity)} ${UNIT_LABELS[m.unit] ?? m.unit}`,
      usd(m.costNanos),
    ]),
  );
  out.push(
    modalityRows.length
      ? table(['team', 'endpoint', 'requests', 'billed', 'cost'], modalityRows)
      : 'No traffic.',
  );
  out.push('');
  out.push('## Top models');
  out.push('');
  out.push(
    table(
      ['team', 'by cost', 'by requests'],
      all.map((s) => [s.label, topModel(s, 'cost'), topModel(s, 'requests')]),
    ),
  );
  out.push('');
  out.push(`## Budgets (${report.org.budget.period}, month to date)`);
  out.push('');
  out.push(
    table(
      ['team', 'used', 'projected month end'],
      all.map((s) => [s.label, budgetCell(s), usd(s.budget.projectedMonthEndNanos)]),
    ),
  );
  out.push('');
  out.push(`Projection: ${report.projectionRule}.`);
  out.push('');
  out.push('## Refusals');
  out.push('');
  out.push(
    table(
      ['team', ...REFUSAL_CATEGORIES, 'total'],
      all.map((s) => [
        s.label,
        ...REFUSAL_CATEGORIES.map((c) => count(s.refusals[c])),
        count(s.refusals.total),
      ]),
    ),
  );
  out.push('');
  out.push('## Traffic per upstream key version');
  out.push('');
  const keyRows = all
    .filter((s) => s !== report.org)
    .flatMap((s) =>
      s.keyVersions.map((k) => [
        s.label,
        k.keyName,
        String(k.keyVersion),
        count(k.requests),
        usd(k.costNanos),
      ]),
    );
  out.push(keyRows.length ? table(['team', 'key', 'version', 'requests', 'cost'], keyRows) : 'No traffic.');
  out.push('');
  out.push(`## Spend per day`);
  out.push('');
  out.push(
    table(
      ['team', ...report.days],
      all.map((s) => [s.label, ...s.dailyCostNanos.map((n) => usd(n))]),
    ),
  );
  out.push('');
  out.push(`Generated ${report.generatedAt}.`);
  return out.join('\n') + '\n';
}

function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csv(header: string[], body: string[][]): string {
  return [header, ...body].map((cells) => cells.map(csvCell).join(',')).join('\n') + '\n';
}

/** One row per team and one for the org; money in nanos (exact) and in USD. */
export function renderCsv(report: WeeklyReport): string {
  const header = [
    'week',
    'scope',
    'team',
    'cost_usd',
    'cost_nanos',
    'requests',
    'attempts',
    'input_tokens',
    'output_tokens',
    'cached_tokens',
    'batch_cost_nanos',
    'batch_requests',
    'interactive_cost_nanos',
    'interactive_requests',
    'top_model_by_cost',
    'top_model_by_requests',
    ...REFUSAL_CATEGORIES.map((c) => `refusals_${c}`),
    'refusals_total',
    'budget_period',
    'month_to_date_nanos',
    'monthly_budget_nanos',
    'budget_used_percent',
    'projected_month_end_nanos',
    'previous_week_cost_nanos',
    'week_over_week_change_nanos',
    'week_over_week_change_percent',
    ...report.days.map((day) => `cost_nanos_${day}`),
  ];
  const body = rows(report).map((s) => [
    report.week,
    s === report.org ? 'org' : 'team',
    s === report.org ? '' : (s.team ?? ''),
    formatUsd(s.totals.costNanos),
    s.totals.costNanos.toString(),
    s.totals.requests.toString(),
    s.totals.attempts.toString(),
    s.totals.inputTokens.toString(),
    s.totals.outputTokens.toString(),
    s.totals.cachedTokens.toString(),
    s.share.batch.costNanos.toString(),
    s.share.batch.requests.toString(),
    s.share.interactive.costNanos.toString(),
    s.share.interactive.requests.toString(),
    s.topModelByCost?.model ?? '',
    s.topModelByRequests?.model ?? '',
    ...REFUSAL_CATEGORIES.map((c) => s.refusals[c].toString()),
    s.refusals.total.toString(),
    s.budget.period,
    s.budget.monthToDateNanos.toString(),
    s.budget.monthlyBudgetNanos?.toString() ?? '',
    s.budget.usedBasisPoints === null ? '' : percent(s.budget.usedBasisPoints).replace('%', ''),
    s.budget.projectedMonthEndNanos.toString(),
    s.weekOverWeek.previousCostNanos.toString(),
    s.weekOverWeek.changeNanos.toString(),
    s.weekOverWeek.changeBasisPoints === null
      ? ''
      : percent(s.weekOverWeek.changeBasisPoints).replace('%', ''),
    ...s.dailyCostNanos.map((n) => n.toString()),
  ]);
  return csv(header, body);
}

/** Traffic per upstream key version, one row per team, key and version. */
export function renderKeysCsv(report: WeeklyReport): string {
  const body = report.teams.flatMap((s) =>
    s.keyVersions.map((k) => [
      report.week,
      s.team ?? '',
      k.keyName,
      String(k.keyVersion),
      k.requests.toString(),
      k.attempts.toString(),
      k.inputTokens.toString(),
      k.outputTokens.toString(),
      k.cachedTokens.toString(),
      k.costNanos.toString(),
    ]),
  );
  return csv(
    [
      'week',
      'team',
      'key_name',
      'key_version',
      'requests',
      'attempts',
      'input_tokens',
      'output_tokens',
      'cached_tokens',
      'cost_nanos',
    ],
    body,
  );
}

/** A fixed-width table for the terminal. */
export function renderConsole(report: Pick<WeeklyReport, 'week' | 'teams'> & { org?: ScopeFigures }): string {
  const header = [
    'team',
    'cost',
    'requests',
    'tokens in/out',
    'batch',
    'top model',
    'refused',
    'budget used',
    'w/w',
  ];
  const body = rows(report).map((s) => [
    s.label,
    usd(s.totals.costNanos),
    count(s.totals.requests),
    `${count(s.totals.inputTokens)}/${count(s.totals.outputTokens)}`,
    percent(s.share.batchCostBasisPoints),
    s.topModelByCost?.model ?? '-',
    count(s.refusals.total),
    percent(s.budget.usedBasisPoints),
    signedPercent(s.weekOverWeek.changeBasisPoints),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `Week ${report.week}`,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
  ].join('\n');
}

/** The short text posted to webhooks (Slack's `text`). */
export function renderSlackText(report: WeeklyReport): string {
  const lines = [
    `*${report.orgName}: Groq usage, week ${report.week}* (${report.days[0]} to ${report.days[6]})`,
    `Total ${usd(report.org.totals.costNanos)} over ${count(report.org.totals.requests)} requests ` +
      `(${signedPercent(report.org.weekOverWeek.changeBasisPoints)} on the week before); ` +
      `${report.org.budget.period} so far ${usd(report.org.budget.monthToDateNanos)}, projected ${usd(report.org.budget.projectedMonthEndNanos)}.`,
    ...report.teams.map(
      (s) =>
        `- ${s.label}: ${usd(s.totals.costNanos)}, ${count(s.totals.requests)} requests, budget ${percent(s.budget.usedBasisPoints)} used, ${count(s.refusals.total)} refused`,
    ),
  ];
  return lines.join('\n');
}
