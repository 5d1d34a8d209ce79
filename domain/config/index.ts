export type {
  ConfigProblem,
  DayOfWeek,
  GatewayConfig,
  GovernorConfig,
  GroqConfig,
  ModelLimits,
  OrgConfig,
  ParseOptions,
  ParseResult,
  ReportsConfig,
  TeamConfig,
  UpstreamKeyConfig,
} from './types';
export { DAYS_OF_WEEK } from './types';
export { ConfigError, formatProblems, parseConfig, validateConfig } from './parse';
export {
  DEFAULT_CONFIG_PATH,
  EXAMPLE_CONFIG_PATH,
  loadConfigFile,
  loadConfigOrThrow,
  loadDefaultConfig,
  type LoadedConfig,
} from './load';
export { formatPath } from './paths';
export { parseDurationMs } from './duration';
