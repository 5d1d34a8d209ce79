/** `/admin/usage`'s `by_modality`: a line per endpoint with what it bills (tokens, audio seconds, characters). */
import type { EndpointUsage } from '../../ledger/modalities';

export function modalityLines(
  rows: EndpointUsage[],
  money: (nanos: bigint) => { nanos: string; usd: string },
): Array<{
  endpoint: string;
  unit: string;
  attempts: number;
  quantity: number;
  cost: { nanos: string; usd: string };
}> {
  const lines = new Map<
    string,
    { endpoint: string; unit: string; attempts: bigint; quantity: bigint; cost: bigint }
  >();
  for (const row of rows) {
    const line = lines.get(row.endpoint) ?? {
      endpoint: row.endpoint,
      unit: row.unit,
      attempts: 0n,
      quantity: 0n,
      cost: 0n,
    };
    line.attempts += row.requests;
    line.quantity += row.unit === 'tokens' ? row.promptTokens + row.completionTokens : row.quantity;
    line.cost += row.costNanos;
    lines.set(row.endpoint, line);
  }
  return [...lines.values()].map((line) => ({
    endpoint: line.endpoint,
    unit: line.unit,
    attempts: Number(line.attempts),
    quantity: Number(line.quantity),
    cost: money(line.cost),
  }));
}
