/**
 * The console's charts as inline SVG, drawn here like the weekly report's: no script, no library. The
 * geometry uses numbers; every figure printed is the exact bigint in USD.
 */
import type { Nanos } from '../../domain/money';
import { escapeHtml as h, usd } from '../../domain/reports/format';

const plot = (nanos: Nanos) => Number(nanos) / 1e9;

/** Spend against budget: grey budget, blue (red when over) spend, dashed amber projection. */
export function budgetBar(used: Nanos, budget: Nanos | null, projected: Nanos, label: string): string {
  const width = 600;
  const reference = Math.max(plot(budget ?? 0n), plot(used), plot(projected), 1e-9);
  const w = (value: Nanos) => Math.max((plot(value) / reference) * width, value > 0n ? 1 : 0).toFixed(1);
  const over = budget !== null && used > budget;
  const x = w(projected);
  return `<svg class="bar" viewBox="0 0 ${width} 26" width="100%" preserveAspectRatio="none" role="img" aria-label="${h(label)}">${
    budget !== null ? `<rect x="0" y="4" width="${w(budget)}" height="18" fill="#e5e7eb"/>` : ''
  }<rect x="0" y="4" width="${w(used)}" height="18" fill="${over ? '#dc2626' : '#4f46e5'}"><title>${usd(used)} spent</title></rect><line x1="${x}" x2="${x}" y1="0" y2="26" stroke="#f59e0b" stroke-width="2" stroke-dasharray="3 2" vector-effect="non-scaling-stroke"><title>projected ${usd(projected)}</title></line></svg>`;
}

/** Horizontal bars, one per row, longest first as given. */
export function barList(rows: { label: string; nanos: Nanos }[], caption: string): string {
  if (rows.length === 0) return `<p class="empty">No spend yet.</p>`;
  const width = 600;
  const left = 200;
  const rowHeight = 24;
  const max = Math.max(...rows.map((row) => plot(row.nanos)), 1e-9);
  const parts = rows.map((row, i) => {
    const y = i * rowHeight;
    const bar = Math.max((plot(row.nanos) / max) * (width - left - 110), row.nanos > 0n ? 1 : 0);
    return `<text x="${left - 6}" y="${y + 16}" text-anchor="end">${h(row.label)}</text><rect x="${left}" y="${y + 4}" width="${bar.toFixed(1)}" height="16" fill="#0891b2"/><text x="${(left + bar + 6).toFixed(1)}" y="${y + 16}">${usd(row.nanos)}</text>`;
  });
  return `<figure><svg viewBox="0 0 ${width} ${rows.length * rowHeight + 4}" width="100%" role="img" aria-label="${h(caption)}">${parts.join('')}</svg><figcaption>${h(caption)}</figcaption></figure>`;
}

/** One column per day. */
export function dayColumns(days: { day: string; costNanos: Nanos }[], caption: string): string {
  const width = 600;
  const height = 180;
  const bottom = 22;
  const top = 18;
  const slot = width / days.length;
  const max = Math.max(...days.map((d) => plot(d.costNanos)), 1e-9);
  const parts = days.map((d, i) => {
    const barHeight = (plot(d.costNanos) / max) * (height - bottom - top);
    const x = i * slot + slot * 0.2;
    const y = height - bottom - barHeight;
    return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.6).toFixed(1)}" height="${Math.max(barHeight, d.costNanos > 0n ? 0.5 : 0).toFixed(1)}" fill="#4f46e5"><title>${h(d.day)}: ${usd(d.costNanos)}</title></rect><text x="${(x + slot * 0.3).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" class="small">${usd(d.costNanos)}</text><text x="${(x + slot * 0.3).toFixed(1)}" y="${height - 6}" text-anchor="middle">${h(d.day.slice(5))}</text>`;
  });
  return `<figure><svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${h(caption)}">${parts.join('')}</svg><figcaption>${h(caption)}</figcaption></figure>`;
}
