/**
 * Reading configuration files. `loadConfigOrThrow` is what a starting process calls: with a bad file it
 * throws a ConfigError whose message lists every problem, so the process prints them and starts nothing.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseConfig } from './parse';
import type { ConfigProblem, GovernorConfig, ParseOptions, ParseResult } from './types';

/** The embedded defaults used by `groq-governor up` when no file is given. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(
  new URL('../../config/governor.default.yaml', import.meta.url),
);
/** The annotated example. */
export const EXAMPLE_CONFIG_PATH = fileURLToPath(
  new URL('../../config/governor.example.yaml', import.meta.url),
);

export async function loadConfigFile(path: string, options: ParseOptions = {}): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? String(error));
    return {
      ok: false,
      source: path,
      problems: [{ path: '(file)', message: `cannot read ${path}: ${reason}` }],
    };
  }
  return parseConfig(text, path, options);
}

export interface LoadedConfig {
  config: GovernorConfig;
  warnings: ConfigProblem[];
  source: string;
}

/** Load a file (the embedded default when `path` is undefined); throws ConfigError listing every problem. */
export async function loadConfigOrThrow(path?: string, options: ParseOptions = {}): Promise<LoadedConfig> {
  const result = await loadConfigFile(path ?? DEFAULT_CONFIG_PATH, options);
  if (!result.ok) throw new ConfigError(result.source, result.problems);
  return { config: result.config, warnings: result.warnings, source: result.source };
}

export function loadDefaultConfig(options: ParseOptions = {}): Promise<LoadedConfig> {
  return loadConfigOrThrow(DEFAULT_CONFIG_PATH, options);
}
