/**
 * `groq-governor config check FILE...`: validate configuration files and list every problem.
 * Exit 0 when every file is valid (warnings allowed), 1 when any file has problems, 2 on usage errors.
 */
import { formatUsd } from '../../../domain/money';
import { formatProblems, loadConfigFile, type GovernorConfig } from '../../../domain/config';
import type { CliIO } from '../io';

const USAGE = [
  'usage: groq-governor config check FILE...',
  '',
  '  Validate Groq Governor configuration files. Prints "FILE: ok" and a summary for a valid file,',
  '  or every problem as "  path: reason" lines. Exit codes: 0 valid, 1 problems found, 2 usage error.',
].join('\n');

export async function run(argv: string[], io: CliIO): Promise<number> {
  const [subcommand, ...rest] = argv;
  if (subcommand === '--help' || subcommand === '-h' || subcommand === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if (subcommand !== 'check') {
    io.stderr(
      subcommand === undefined ? 'config: missing subcommand' : `config: unknown subcommand "${subcommand}"`,
    );
    io.stderr(USAGE);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(USAGE);
    return 0;
  }
  const options = rest.filter((arg) => arg.startsWith('-') && arg !== '-');
  if (options.length > 0) {
    io.stderr(`config check: unknown option ${options[0]}`);
    io.stderr(USAGE);
    return 2;
  }
  if (rest.length === 0) {
    io.stderr('config check: missing FILE');
    io.stderr(USAGE);
    return 2;
  }

  let exitCode = 0;
  for (const file of rest) {
    const result = await loadConfigFile(file);
    if (result.ok) {
      io.stdout(`${file}: ok`);
      io.stdout(summary(result.config));
      if (result.warnings.length > 0) {
        io.stdout(`  warnings (${result.warnings.length}):`);
        io.stdout(indent(formatProblems(result.warnings)));
      }
    } else {
      exitCode = 1;
      const count = result.problems.length;
      io.stdout(`${file}: ${count} problem${count === 1 ? '' : 's'}`);
      io.stdout(formatProblems(result.problems));
    }
  }
  return exitCode;
}

function summary(config: GovernorConfig): string {
  const teams = [...config.teams.keys()];
  const models = [...config.pricing.models.keys()];
  const audio = [...(config.pricing.audio?.keys() ?? [])];
  const speech = [...(config.pricing.speech?.keys() ?? [])];
  const used = new Set([...config.teams.values()].flatMap((team) => team.allowedModels));
  return [
    `  org: ${config.org.name}, monthly cap ${formatUsd(config.org.monthlyCapNanos)} USD, timezone ${config.org.timezone}, alerts at ${config.org.alertThresholds.map((t) => `${t}%`).join(', ') || 'none'}`,
    `  teams (${teams.length}): ${teams.join(', ') || 'none'}`,
    `  models (${models.length} priced, ${used.size} used by teams): ${models.join(', ')}`,
    ...(audio.length > 0 ? [`  speech to text (${audio.length}): ${audio.join(', ')}`] : []),
    ...(speech.length > 0 ? [`  text to speech (${speech.length}): ${speech.join(', ')}`] : []),
    `  upstream keys (${config.upstreamKeys.length}): ${config.upstreamKeys.map((key) => key.name).join(', ') || 'none'}`,
  ].join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
