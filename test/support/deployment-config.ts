/**
 * The configuration the multi-process and fault tests deploy: one priced model with Groq limits far above
 * the load (unless a test sets its own RPM), and teams of one upstream key each, whose secret the worker
 * processes read from the variable the key names.
 */
export const DEPLOYMENT_MODEL = 'llama-3.1-8b-instant';

export interface DeploymentTeam {
  name: string;
  /** the upstream key name, `{team}-{env}-{purpose}` */
  keyName: string;
  /** the environment variable holding the key's secret in the worker processes */
  secretEnv: string;
}

export interface DeploymentConfigOptions {
  org: string;
  teams: DeploymentTeam[];
  /** Groq's per-minute request limit for the model (default: far above any test's load) */
  groqRpm?: number;
  /** gateway.maxWaitMs (default 180000; null leaves the gateway section out) */
  maxWaitMs?: number | null;
}

export function deploymentConfig(options: DeploymentConfigOptions): string {
  const model = DEPLOYMENT_MODEL;
  const keys = options.teams.map((team) => `  - name: ${team.keyName}\n    secretEnv: ${team.secretEnv}`);
  const teams = options.teams.map((team) =>
    [
      `  ${team.name}:`,
      `    allowedModels: [${model}]`,
      '    maxTokensPerRequest: 256',
      "    monthlyBudgetUsd: '100'",
      '    rpm: 100000',
      '    tpm: 100000000',
      '    concurrency: 1000',
      `    upstreamKey: ${team.keyName}`,
    ].join('\n'),
  );
  const maxWaitMs = options.maxWaitMs === undefined ? 180_000 : options.maxWaitMs;
  return [
    'org:',
    `  name: ${options.org}`,
    "  monthlyCapUsd: '1000'",
    '  timezone: UTC',
    'groq:',
    '  limits:',
    `    ${model}: { rpm: ${options.groqRpm ?? 100000}, rpd: 10000000, tpm: 100000000, tpd: 1000000000 }`,
    'pricing:',
    '  models:',
    `    ${model}: { input: '0.05', output: '0.08' }`,
    'upstreamKeys:',
    ...keys,
    'teams:',
    ...teams,
    ...(maxWaitMs === null ? [] : ['gateway:', `  maxWaitMs: ${maxWaitMs}`]),
    '',
  ].join('\n');
}
