/**
 * The configuration of a process that starts things (`up`, `worker`, `gateway`), checked together with
 * the process's own settings (workers/process-settings.ts): warnings go to stderr, and when either has a
 * problem every problem is named, followed by "Nothing was started.", and nothing is returned.
 */
import { ConfigError, loadConfigOrThrow, type GovernorConfig } from '../../../domain/config';
import { processSettingProblems } from '../../../workers/process-settings';
import type { CliIO } from '../io';

export async function checkedConfig(
  path: string | undefined,
  dataDir: string,
  io: CliIO,
): Promise<{ config: GovernorConfig; source: string } | undefined> {
  const problems = processSettingProblems();
  let loaded;
  try {
    loaded = await loadConfigOrThrow(path ?? process.env.GOVERNOR_CONFIG, { dataDir });
    for (const warning of loaded.warnings) io.stderr(`warning: ${warning.path}: ${warning.message}`);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(error.message);
  }
  if (problems.length > 0 || !loaded) {
    io.stderr(`${problems.join('\n')}\nNothing was started.`);
    return undefined;
  }
  return { config: loaded.config, source: loaded.source };
}
