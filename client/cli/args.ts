/** Small helpers over node:util's parseArgs so every command reports bad flags the same way. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { textFault } from '../../domain/text-input';
import type { CliIO } from './io';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses flags; on a bad flag prints the reason and the usage line and returns undefined. */
export function parseFlags<T extends Options>(argv: string[], options: T, usage: string, io: CliIO) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    io.stderr(`${(error as Error).message}\nusage: ${usage}`);
    return undefined;
  }
  // the text rule (docs/security.md), once for every flag and argument of every command
  const fault = argumentFault(parsed.values as Record<string, unknown>, parsed.positionals);
  if (fault) {
    io.stderr(fault);
    return undefined;
  }
  return parsed;
}

export interface ParsedSubcommand<S extends string> {
  command: S;
  flags: Record<string, string | boolean | undefined>;
  /** a string flag's value, undefined when absent */
  text(name: string): string | undefined;
  positionals: string[];
}

/**
 * `groq-governor <program> <subcommand> [flags]`: answers no subcommand, `help` and `--help` with the
 * usage, refuses an unknown subcommand and bad flags, and returns the exit code in those cases.
 */
export function parseSubcommand<T extends Record<string, Options>>(
  program: string,
  argv: string[],
  subcommands: T,
  usage: string,
  io: CliIO,
): ParsedSubcommand<Extract<keyof T, string>> | number {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(usage);
    return command === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(subcommands, command)) {
    io.stderr(`groq-governor ${program}: unknown command "${command}"`);
    io.stderr(usage);
    return 2;
  }
  const parsed = parseFlags(
    rest,
    subcommands[command]!,
    `groq-governor ${program} ${command} ...\n\n${usage}`,
    io,
  );
  if (!parsed) return 2;
  const flags = parsed.values as Record<string, string | boolean | undefined>;
  if (flags.help === true) {
    io.stdout(usage);
    return 0;
  }
  return {
    command: command as Extract<keyof T, string>,
    flags,
    text: (name) => (typeof flags[name] === 'string' ? (flags[name] as string) : undefined),
    positionals: parsed.positionals,
  };
}

/** Longest flag value or argument the CLI takes. */
export const MAX_ARGUMENT_LENGTH = 4096;

/** The first flag or argument that breaks the text rule, described; undefined when all may enter. */
export function argumentFault(
  flags: Record<string, unknown>,
  positionals: readonly string[],
): string | undefined {
  const named: Array<[string, string]> = [
    ...Object.entries(flags).flatMap(([name, value]): Array<[string, string]> =>
      (Array.isArray(value) ? value : [value]).flatMap((item): Array<[string, string]> =>
        typeof item === 'string' ? [[`--${name}`, item]] : [],
      ),
    ),
    ...positionals.map((value, index): [string, string] => [`argument ${index + 1}`, value]),
  ];
  for (const [name, value] of named) {
    const fault = textFault(value, name, MAX_ARGUMENT_LENGTH);
    if (fault) return fault.message;
  }
  return undefined;
}

/** A port flag or environment variable: a whole number 0..65535, or the fallback. */
export function portOption(value: string | undefined, envName: string, fallback: number): number {
  const text = value ?? process.env[envName];
  if (text === undefined || text === '') return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(
      `${value !== undefined ? 'port' : envName} must be a whole number 0..65535, got ${JSON.stringify(text)}`,
    );
  }
  return port;
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals) => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve(signal);
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
