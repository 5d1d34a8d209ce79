/**
 * Prometheus metrics of a gateway (`GET /metrics`, prom-client's text format). Two sources:
 * - this process: HTTP requests by route, method and status, their durations, and Node's own metrics;
 * - the shared ledger, read at scrape time for the current period: attempts by team, model, outcome and
 *   kind, tokens, exact cost, upstream latency, rate-limit waits, refusals by reason and budget use. Those
 *   are the deployment's figures whichever process served the requests, so any gateway can be scraped.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { GovernorConfig } from '../../domain/config';
import { ORG_SCOPE, periodOf, teamScope, type LedgerStore } from '../../ledger';
import { usageByEndpoint } from '../../ledger/modalities';

const PREFIX = 'groq_governor_';
const NANOS_PER_USD = 1e9;
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

export interface GatewayMetrics {
  registry: Registry;
  /** the text exposition, with the ledger's figures read now */
  render(): Promise<{ contentType: string; text: string }>;
  /** count one answered request (route is a fixed name, never the raw path) */
  observe(route: string, method: string, status: number, seconds: number): void;
}

/** The routes requests are counted under: known paths by name, everything else as "other". */
export function routeOf(path: string): string {
  if (path === '/openai/v1/chat/completions') return 'chat_completions';
  if (path === '/openai/v1/models' || path.startsWith('/openai/v1/models/')) return 'models';
  if (path.startsWith('/openai/v1/files')) return 'files';
  if (path === '/openai/v1/audio/transcriptions') return 'audio_transcriptions';
  if (path === '/openai/v1/audio/translations') return 'audio_translations';
  if (path === '/openai/v1/audio/speech') return 'audio_speech';
  if (path === '/openai/v1/responses') return 'responses';
  if (path.startsWith('/openai/v1/batches')) return 'batches';
  if (path.startsWith('/admin/')) return 'admin';
  if (path === '/healthz' || path === '/readyz' || path === '/metrics') return path.slice(1);
  return 'other';
}

export function createGatewayMetrics(ledger: LedgerStore, config: () => GovernorConfig): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX + 'gateway_' });
  const requests = new Counter({
    name: `${PREFIX}http_requests_total`,
    help: 'HTTP requests this gateway answered, by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const durations = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'Time from request to answer at this gateway, by route',
    labelNames: ['route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });

  const usageLabels = ['period', 'team', 'model', 'outcome', 'kind'] as const;
  const gauge = (name: string, help: string, labelNames: readonly string[]) =>
    new Gauge({ name: PREFIX + name, help, labelNames: [...labelNames], registers: [registry] });
  const attempts = gauge('period_attempts', 'Upstream attempts this period (ledger)', usageLabels);
  const tokens = gauge('period_tokens', 'Tokens this period by type: prompt, completion, cached (ledger)', [
    ...usageLabels,
    'type',
  ]);
  const costNanos = gauge(
    'period_cost_nanos',
    'Exact cost this period in nano-dollars (ledger)',
    usageLabels,
  );
  const costUsd = gauge('period_cost_usd', 'Cost this period in dollars (ledger)', usageLabels);
  const upstreamSeconds = gauge('period_upstream_seconds_sum', 'Upstream call time (ledger)', usageLabels);
  const upstreamCount = gauge(
    'period_upstream_seconds_count',
    'Finished upstream calls (ledger)',
    usageLabels,
  );
  const waitSeconds = gauge(
    'period_rate_limit_wait_seconds_sum',
    'Time from budget reservation to the upstream call: waiting for rate-limit capacity (ledger)',
    usageLabels,
  );
  const waitCount = gauge(
    'period_rate_limit_wait_seconds_count',
    'Attempts with a reservation (ledger)',
    usageLabels,
  );
  const refusals = gauge('period_refusals', 'Requests refused this period, by reason (ledger)', [
    'period',
    'team',
    'reason',
  ]);
  const budgetUsed = gauge('budget_used_ratio', 'Committed plus held spend over the budget, this period', [
    'period',
    'scope',
  ]);
  const budgetUsd = gauge('budget_usd', 'Monthly budget in dollars', ['period', 'scope']);
  const modalityLabels = ['period', 'team', 'model', 'endpoint', 'unit'] as const;
  const modalityRequests = gauge(
    'period_modality_requests',
    'Attempts this period per endpoint (chat, responses, speech to text, text to speech), success and unknown (ledger)',
    modalityLabels,
  );
  const modalityQuantity = gauge(
    'period_modality_quantity',
    'What the endpoint bills this period, in its unit: audio_seconds, characters, or tokens (input + output) (ledger)',
    modalityLabels,
  );
  const modalityCost = gauge(
    'period_modality_cost_nanos',
    'Exact cost this period per endpoint in nano-dollars (ledger)',
    modalityLabels,
  );
  const ledgerGauges = [
    modalityRequests,
    modalityQuantity,
    modalityCost,
    attempts,
    tokens,
    costNanos,
    costUsd,
    upstreamSeconds,
    upstreamCount,
    waitSeconds,
    waitCount,
    refusals,
    budgetUsed,
    budgetUsd,
  ];

  async function collectLedger(): Promise<void> {
    const current = config();
    const period = periodOf(new Date(), current.org.timezone);
    const snapshot = await ledger.metricsSnapshot(period);
    for (const metric of ledgerGauges) metric.reset();
    for (const row of snapshot.usage) {
      const labels = {
        period,
        team: row.team ?? '',
        model: row.model,
        outcome: row.outcome,
        kind: row.batch ? 'batch' : 'interactive',
      };
      attempts.set(labels, Number(row.attempts));
      tokens.set({ ...labels, type: 'prompt' }, Number(row.promptTokens));
      tokens.set({ ...labels, type: 'completion' }, Number(row.completionTokens));
      tokens.set({ ...labels, type: 'cached' }, Number(row.cachedTokens));
      costNanos.set(labels, Number(row.costNanos));
      costUsd.set(labels, Number(row.costNanos) / NANOS_PER_USD);
      upstreamSeconds.set(labels, Number(row.upstreamMs) / 1000);
      upstreamCount.set(labels, Number(row.finished));
      waitSeconds.set(labels, Number(row.waitMs) / 1000);
      waitCount.set(labels, Number(row.waited));
    }
    for (const row of await usageByEndpoint(ledger.sql, { period })) {
      const labels = {
        period,
        team: row.team ?? '',
        model: row.model,
        endpoint: row.endpoint,
        unit: row.unit,
      };
      modalityRequests.set(labels, Number(row.requests));
      modalityQuantity.set(
        labels,
        Number(row.unit === 'tokens' ? row.promptTokens + row.completionTokens : row.quantity),
      );
      modalityCost.set(labels, Number(row.costNanos));
    }
    for (const row of snapshot.refusals)
      refusals.set({ period, team: row.team ?? '', reason: row.reason }, Number(row.count));
    const scopes: Array<[string, bigint]> = [
      [ORG_SCOPE, current.org.monthlyCapNanos],
      ...[...current.teams].map(([name, team]): [string, bigint] => [
        teamScope(name),
        team.monthlyBudgetNanos,
      ]),
    ];
    for (const [scope, budget] of scopes) {
      const spend = await ledger.getSpend(scope, period);
      budgetUsd.set({ period, scope }, Number(budget) / NANOS_PER_USD);
      budgetUsed.set(
        { period, scope },
        budget === 0n ? 0 : Number(spend.committed + spend.held) / Number(budget),
      );
    }
  }

  // one scrape at a time: collecting resets and refills the ledger gauges
  const scrape = async () => {
    await collectLedger();
    return { contentType: registry.contentType, text: await registry.metrics() };
  };
  let previous: Promise<unknown> = Promise.resolve();
  return {
    registry,
    render() {
      const next = previous.then(scrape, scrape);
      previous = next;
      return next;
    },
    observe(route, method, status, seconds) {
      const verb = METHODS.has(method) ? method : 'other';
      requests.inc({ route, method: verb, status: String(status) });
      durations.observe({ route }, seconds);
    },
  };
}
