/**
 * `groq-governor emulator [--port N] [--host H] [--config FILE] [--key NAME=SECRET]... [--latency-ms N]`
 *
 * Runs the local Groq emulator until SIGINT/SIGTERM. Prints the base URL and the key names it accepts
 * (never the secrets).
 */
import { ConfigError, startEmulator, type StartEmulatorOptions } from '../../../emulator/index';
import type { CliIO } from '../io';

const USAGE = `usage: groq-governor emulator [options]

  --port N             port to listen on (default 0: a free port)
  --host H             address to bind (default 127.0.0.1)
  --config FILE        YAML emulator config (see emulator/emulator.example.yaml)
  --key NAME=SECRET    accept this key (repeatable); SECRET is gsk_ + 52 letters or digits
  --latency-ms N       delay before each chat completion answers
  --per-token-ms N     delay between streamed tokens
  -h, --help           this text`;

interface ParsedArgs {
  options: StartEmulatorOptions;
  help: boolean;
}

class UsageError extends Error {}

function nonNegative(flag: string, value: string | undefined): number {
  const number = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(number) || number < 0) {
    throw new UsageError(`${flag} needs a number >= 0`);
  }
  return number;
}

export function parseEmulatorArgs(argv: string[]): ParsedArgs {
  const options: StartEmulatorOptions = {};
  const keys: { name: string; secret: string }[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const takeValue = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${flag} needs a value`);
      return value;
    };
    switch (flag) {
      case '-h':
      case '--help':
        help = true;
        break;
      case '--port': {
        const port = nonNegative(flag, takeValue());
        if (!Number.isInteger(port) || port > 65535)
          throw new UsageError('--port needs a whole number 0..65535');
        options.port = port;
        break;
      }
      case '--host':
        options.host = takeValue();
        break;
      case '--config':
        options.configFile = takeValue();
        break;
      case '--key': {
        const value = takeValue();
        const split = value.indexOf('=');
        if (split <= 0 || split === value.length - 1) throw new UsageError('--key needs NAME=SECRET');
        keys.push({ name: value.slice(0, split), secret: value.slice(split + 1) });
        break;
      }
      case '--latency-ms':
        options.latencyMs = nonNegative(flag, takeValue());
        break;
      case '--per-token-ms':
        options.perTokenLatencyMs = nonNegative(flag, takeValue());
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (keys.length > 0) options.keys = keys;
  return { options, help };
}

/** Resolves on the first SIGINT/SIGTERM (or when `stop` aborts). */
function waitForStop(stop?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const done = (reason: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      stop?.removeEventListener('abort', onAbort);
      resolve(reason);
    };
    const onInt = (): void => done('SIGINT');
    const onTerm = (): void => done('SIGTERM');
    const onAbort = (): void => done('stop');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (stop?.aborted) done('stop');
    else stop?.addEventListener('abort', onAbort);
  });
}

/**
 * Run the emulator until a signal. `stop` (tests) ends it like a signal would; `onStarted` receives the
 * base URL once listening.
 */
export async function run(
  argv: string[],
  io: CliIO,
  control: { stop?: AbortSignal; onStarted?: (url: string) => void } = {},
): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseEmulatorArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`groq-governor emulator: ${error.message}`);
    io.stderr(USAGE);
    return 2;
  }
  if (parsed.help) {
    io.stdout(USAGE);
    return 0;
  }
  let emulator;
  try {
    emulator = await startEmulator(parsed.options);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`groq-governor emulator: ${error.message}`);
      return 2;
    }
    io.stderr(`groq-governor emulator: cannot start: ${(error as Error).message}`);
    return 1;
  }
  const keys = emulator.keys();
  io.stdout(`Groq emulator listening on ${emulator.url}`);
  io.stdout(`  base URL for groq-sdk: ${emulator.url}   (API under ${emulator.url}/openai/v1)`);
  io.stdout(`  admin API: ${emulator.url}/_emulator/   (loopback clients only)`);
  io.stdout(`  models: ${emulator.config.models.map((model) => model.id).join(', ')}`);
  if (keys.length === 0) {
    io.stdout('  keys: none yet: add one with --key NAME=SECRET or POST /_emulator/keys');
  } else {
    io.stdout(`  keys: ${keys.map((key) => `${key.name} (${key.fingerprint})`).join(', ')}`);
  }
  control.onStarted?.(emulator.url);
  const reason = await waitForStop(control.stop);
  io.stdout(`Groq emulator stopping (${reason})`);
  await emulator.close();
  return 0;
}
