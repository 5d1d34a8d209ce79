/** Small helpers over node:util's parseArgs so every command reports bad flags the same way. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CliIO } from './io';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses flags; on a bad flag prints the reason and the usage line and returns undefined. */
export function parseFlags<T extends Options>(argv: string[], options: T, usage: string, io: CliIO) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    io.stderr(`${(error as Error).message}\nusage: ${usage}`);
    return undefined;
  }
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
