/** The ledger's public surface. */
export { openLedger, resolveLedgerTarget, describeLedgerTarget, DEFAULT_DATA_DIR } from './open';
export type { OpenLedgerOptions, LedgerTarget } from './open';
export { LedgerStore } from './store';
export * from './errors';
export { migrate, loadMigrations, appliedMigrations, MigrationError } from './migrate';
export type { Migration, MigrationReport } from './migrate';
export { periodOf, isPeriod, teamScope, ORG_SCOPE } from './period';
export type {
  Reservation,
  ReservationState,
  ReserveInput,
  ReserveResult,
  ReservationChange,
  BudgetRefusalReason,
  ScopeSpend,
  ReservationFilter,
} from './budgets';
export type {
  UsageAttempt,
  UsageRecord,
  UsageFilter,
  UsageTotals,
  AttemptOutcome,
  RefusalInput,
} from './usage';
export type { SentAlert } from './alerts';
export type { PauseKind, TeamPauseEntry, TeamPauseState, SetPauseInput } from './pauses';
export { modelBucket, teamBucket } from './ratelimit';
export type { AcquireInput, AcquireResult, BucketRequest, BucketState, TokenCorrection } from './ratelimit';
export { MINUTE_MS, MINUTE_WINDOW_MS, RATE_GUARD_MS, DAY_MS } from './rate-math';
export type { RateLimits, RateBlock, RateLimitName, UpstreamState, UpstreamDimension } from './rate-math';
export { parseRateLimitHeaders, parseDurationMs } from './upstream-headers';
export type { UpstreamObservation, HeaderSource } from './upstream-headers';
export { hashSecret, secretMatches, GATEWAY_ROLES } from './keys';
export type { GatewayKey, GatewayRole, CreateGatewayKeyInput } from './keys';
export type { AuditEntry, AuditInput, AuditFilter } from './audit';
export type { SqlClient, SqlQueryable, SqlSession, SqlResult, SqlDriver } from './sql';
export type { ClaimResult } from './call-claims';
export { policySnapshot, spendOfScopes, bookCompletion } from './completion-path';
export type { FastAuthorizeInput, FastAuthorizeOutcome } from './authorize-fast';
export type { PolicySnapshot, BookCompletionInput } from './completion-path';
export type { MetricsSnapshot, UsageMetricRow, RefusalMetricRow } from './metrics';
