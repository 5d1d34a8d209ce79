/** Installs Temporal's Runtime once per process, with core logs at WARN so they stay readable. */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

let installed = false;

export function installRuntime(level: LogLevel = 'WARN'): void {
  if (installed) return;
  Runtime.install({ logger: new DefaultLogger(level) });
  installed = true;
}
