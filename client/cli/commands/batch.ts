/**
 * `groq-governor batch submit|status|results|cancel`: batch jobs through a running gateway, with the
 * official groq-sdk and a gateway key (`--key`, else GOVERNOR_API_KEY or GROQ_API_KEY; `--url`, else
 * GOVERNOR_URL, else http://127.0.0.1:8080).
 */
import Groq from 'groq-sdk';
import { batchWorkflowId } from '../../../workflows/batch-job-messages';
import { resolveTemporalTarget } from '../../services/temporal-config';
import { temporalUiLinks } from '../../services/temporal-ui';
import { parseSubcommand, type Options } from '../args';
import type { CliIO } from '../io';
import { emitLines, fileOnDisk, saveBody } from './batch-files';

const USAGE = `usage: groq-governor batch <command> [options]

  batch submit FILE.jsonl [--window 24h] [--mode auto|realtime|groq-batch] [--skip-invalid-lines] [--detach]
        upload FILE (Groq's batch line format) and start a batch; shows a progress bar until it is
        done unless --detach. auto (default) runs on Groq's Batch API when the window is 24h or more
  batch status ID        the batch: status, request counts, spend so far, result files
  batch results ID [-o FILE]
        the output file (one line per custom_id) to FILE or stdout; the error file, if any, to
        FILE.errors.jsonl (or stderr)
  batch cancel ID        stop starting items; finished ones are kept

options for every command:
  --url URL    the gateway (default: GOVERNOR_URL, else http://127.0.0.1:8080)
  --key KEY    a gateway key (default: GOVERNOR_API_KEY, else GROQ_API_KEY)`;

const COMMON = {
  url: { type: 'string' },
  key: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

const SUBCOMMANDS = {
  submit: {
    ...COMMON,
    window: { type: 'string' },
    mode: { type: 'string' },
    'skip-invalid-lines': { type: 'boolean' },
    detach: { type: 'boolean' },
    interval: { type: 'string' },
  },
  status: { ...COMMON },
  results: { ...COMMON, output: { type: 'string', short: 'o' } },
  cancel: { ...COMMON },
} as const satisfies Record<string, Options>;

type Batch = Awaited<ReturnType<Groq['batches']['retrieve']>>;

const FINAL = new Set(['completed', 'failed', 'cancelled', 'expired']);

function spendOf(batch: Batch): string {
  const governed = (batch as unknown as { x_governor?: { spend_usd?: string; mode?: string } }).x_governor;
  return governed ? `$${governed.spend_usd} (${governed.mode})` : '-';
}

export function progressBar(batch: Batch, width = 30): string {
  const counts = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  const done = counts.completed + counts.failed;
  const filled = counts.total > 0 ? Math.round((done / counts.total) * width) : 0;
  const percent = counts.total > 0 ? Math.floor((done / counts.total) * 100) : 0;
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(percent).padStart(3)}% ` +
    `${done}/${counts.total} (${counts.failed} failed) ${batch.status}, spend ${spendOf(batch)}`
  );
}

/** the batch's workflow in Temporal's Web UI, for the Temporal cluster this environment names */
function uiLinkOf(batchId: string): string | null {
  return temporalUiLinks(resolveTemporalTarget()).workflow(batchWorkflowId(batchId));
}

function describeBatch(batch: Batch): string {
  const counts = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  const link = uiLinkOf(batch.id);
  const lines = [
    `id:          ${batch.id}`,
    `status:      ${batch.status}`,
    `requests:    ${counts.total} total, ${counts.completed} completed, ${counts.failed} failed`,
    `spend:       ${spendOf(batch)}`,
    `output file: ${batch.output_file_id ?? '-'}`,
    `error file:  ${batch.error_file_id ?? '-'}`,
    ...(link ? [`temporal ui: ${link}`] : []),
  ];
  for (const error of batch.errors?.data ?? []) {
    lines.push(
      `error:       ${error.line !== null && error.line !== undefined ? `line ${error.line}: ` : ''}${error.code}: ${error.message}`,
    );
  }
  return lines.join('\n');
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseSubcommand('batch', argv, SUBCOMMANDS, USAGE, io);
  if (typeof parsed === 'number') return parsed;
  const { command, flags, text } = parsed;
  if (parsed.positionals.length !== 1) {
    io.stderr(
      `groq-governor batch ${command}: name exactly one ${command === 'submit' ? 'file' : 'batch id'}`,
    );
    return 2;
  }
  const [target] = parsed.positionals as [string];
  const apiKey = text('key') ?? process.env.GOVERNOR_API_KEY ?? process.env.GROQ_API_KEY;
  if (!apiKey) {
    io.stderr('groq-governor batch: no gateway key (--key, GOVERNOR_API_KEY or GROQ_API_KEY)');
    return 2;
  }
  const groq = new Groq({
    baseURL: text('url') ?? process.env.GOVERNOR_URL ?? 'http://127.0.0.1:8080',
    apiKey,
    maxRetries: 2,
  });

  try {
    if (command === 'submit') {
      const file = await groq.files.create({ file: await fileOnDisk(target), purpose: 'batch' });
      const mode = text('mode');
      const batch = await groq.batches.create({
        input_file_id: file.id!,
        endpoint: '/v1/chat/completions',
        completion_window: text('window') ?? '24h',
        metadata: {
          ...(mode ? { mode } : {}),
          ...(flags['skip-invalid-lines'] === true ? { skip_invalid_lines: 'true' } : {}),
        },
      });
      io.stdout(batch.id);
      // stdout carries only the id (for scripts); the link goes with the progress to stderr
      const link = uiLinkOf(batch.id);
      if (link) io.stderr(`Temporal Web UI: ${link}`);
      if (flags.detach === true) return 0;
      const interval = Number(text('interval') ?? 1000);
      let current = batch;
      while (!FINAL.has(current.status)) {
        await new Promise((resolve) => setTimeout(resolve, interval));
        current = await groq.batches.retrieve(batch.id);
        io.stderr(progressBar(current));
      }
      io.stdout(describeBatch(current));
      return current.status === 'completed' ? 0 : 1;
    }
    if (command === 'status') {
      io.stdout(describeBatch(await groq.batches.retrieve(target)));
      return 0;
    }
    if (command === 'cancel') {
      io.stdout(describeBatch(await groq.batches.cancel(target)));
      return 0;
    }
    const batch = await groq.batches.retrieve(target);
    if (!batch.output_file_id) {
      io.stderr(`batch ${batch.id} is ${batch.status} and has no output file yet`);
      return 1;
    }
    const path = text('output');
    const errorFile = batch.error_file_id;
    const output = await groq.files.content(batch.output_file_id);
    if (path) {
      await saveBody(output, path);
      if (errorFile) await saveBody(await groq.files.content(errorFile), `${path}.errors.jsonl`);
      io.stdout(`wrote ${path}${errorFile ? ` and ${path}.errors.jsonl` : ''}`);
    } else {
      await emitLines(output, (line) => io.stdout(line));
      if (errorFile) await emitLines(await groq.files.content(errorFile), (line) => io.stderr(line));
    }
    return 0;
  } catch (error) {
    io.stderr(`groq-governor batch ${command}: ${(error as Error).message}`);
    return 1;
  }
}
