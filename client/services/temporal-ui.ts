/**
 * Links into Temporal's Web UI for what the CLI starts or shows (a rotation, a batch, a weekly report,
 * the report schedule), so an operator can open its history in one click.
 *
 * Where the UI is, in order: `GOVERNOR_TEMPORAL_UI_URL` (empty or `off`: no links); Temporal Cloud's UI
 * when the address is a `*.tmprl.cloud` endpoint; otherwise the dev server's UI on the same host, at
 * `GOVERNOR_TEMPORAL_UI_PORT` or the frontend port + 1000 (what `temporal server start-dev` and
 * `groq-governor up` use). A self-hosted cluster with its UI elsewhere sets `GOVERNOR_TEMPORAL_UI_URL`.
 */
import type { TemporalTarget } from './temporal-config';

type Env = Record<string, string | undefined>;

export function temporalUiBase(
  target: Pick<TemporalTarget, 'address'>,
  env: Env = process.env,
): string | null {
  const explicit = env.GOVERNOR_TEMPORAL_UI_URL;
  if (explicit !== undefined) {
    const trimmed = explicit.trim().replace(/\/+$/, '');
    return trimmed === '' || trimmed.toLowerCase() === 'off' ? null : trimmed;
  }
  const match = /^(?:[a-z]+:\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?/i.exec(target.address.trim());
  if (!match) return null;
  const host = match[1]!;
  if (/\.tmprl\.cloud$/i.test(host)) return 'https://cloud.temporal.io';
  const uiPort = Number(env.GOVERNOR_TEMPORAL_UI_PORT ?? Number(match[2] ?? 7233) + 1000);
  if (!Number.isInteger(uiPort) || uiPort <= 0 || uiPort > 65535) return null;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${uiPort}`;
}

export interface UiLinks {
  /** the namespace's workflow list */
  workflows(): string | null;
  workflow(workflowId: string, runId?: string): string | null;
  schedule(scheduleId: string): string | null;
}

export function temporalUiLinks(
  target: Pick<TemporalTarget, 'address' | 'namespace'>,
  env: Env = process.env,
): UiLinks {
  const base = temporalUiBase(target, env);
  const namespace = `${base}/namespaces/${encodeURIComponent(target.namespace)}`;
  return {
    workflows: () => (base ? `${namespace}/workflows` : null),
    workflow: (workflowId, runId) =>
      base
        ? `${namespace}/workflows/${encodeURIComponent(workflowId)}` +
          (runId ? `/${encodeURIComponent(runId)}/history` : '')
        : null,
    schedule: (scheduleId) => (base ? `${namespace}/schedules/${encodeURIComponent(scheduleId)}` : null),
  };
}

/** `Temporal Web UI: <link>`, or nothing when there is no UI to link to */
export function uiLine(link: string | null): string[] {
  return link ? [`Temporal Web UI: ${link}`] : [];
}
