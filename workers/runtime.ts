/**
 * Installs Temporal's Runtime once per process, with core logs at the given level (WARN by default).
 * The flag lives on globalThis because test runners may load this module more than once per process.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

const INSTALLED = Symbol.for('groq-governor.temporal-runtime-installed');
type Flagged = typeof globalThis & { [INSTALLED]?: boolean };

export function installRuntime(level: LogLevel = 'WARN'): void {
  const scope = globalThis as Flagged;
  if (scope[INSTALLED]) return;
  Runtime.install({ logger: new DefaultLogger(level) });
  scope[INSTALLED] = true;
}
