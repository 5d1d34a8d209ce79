/**
 * The typed ledger store: one object over one SQL client, with every operation the product needs. Each
 * method delegates to the module that owns the concern (budgets, usage, alerts, pauses, ratelimit, keys,
 * audit), where the SQL and the concurrency reasoning live.
 */
import type { Nanos } from '../domain/money';
import { appendAudit, listAudit, type AuditFilter, type AuditInput } from './audit';
import { listAlerts, recordAlertOnce } from './alerts';
import {
  getReservation,
  getSpend,
  getTeamSpend,
  listReservations,
  listSpend,
  listUnknown,
  markUnknown,
  release,
  reserve,
  settle,
  type ReservationFilter,
  type ReserveInput,
} from './budgets';
import {
  createGatewayKey,
  findGatewayKeyByPrefix,
  getGatewayKey,
  listGatewayKeys,
  revokeGatewayKey,
  touchGatewayKey,
  type CreateGatewayKeyInput,
} from './keys';
import { callClaimedBy, callWasClaimed, claimCall } from './call-claims';
import { authorizeFast, type FastAuthorizeInput } from './authorize-fast';
import { bookCompletion, policySnapshot, spendOfScopes, type BookCompletionInput } from './completion-path';
import type { MigrationReport } from './migrate';
import { getTeamPause, listPausedTeams, setTeamPause, type SetPauseInput } from './pauses';
import {
  correctTokens,
  getRateBucket,
  purgeRateLeases,
  recordUpstreamHeaders,
  releaseLease,
  tryAcquire,
  type AcquireInput,
} from './ratelimit';
import { metricsSnapshot } from './metrics';
import type { SqlClient, SqlQueryable } from './sql';
import type { HeaderSource, UpstreamObservation } from './upstream-headers';
import {
  listUsage,
  recordRefusal,
  recordUsage,
  refusalCounts,
  usageTotalsByModel,
  usageTotalsByTeam,
  type RefusalInput,
  type UsageAttempt,
  type UsageFilter,
} from './usage';

type TotalsFilter = Omit<UsageFilter, 'after' | 'limit'>;

export class LedgerStore {
  constructor(
    /** the underlying client, for callers that need a raw query or their own transaction */
    readonly sql: SqlClient,
    /** what opening the ledger did to the schema */
    readonly migrations: MigrationReport,
  ) {}

  get driver() {
    return this.sql.driver;
  }

  close(): Promise<void> {
    return this.sql.close();
  }

  /**
   * Run `fn` with a store whose every method runs inside one transaction: the steps that must decide
   * together (policy, reservation and admission of a request) pay one BEGIN/COMMIT and one wait for
   * the connection instead of one each. A retryable failure (a deadlock, a RetryTransaction thrown by
   * a step) runs `fn` again from the start, so `fn` must only touch the database through the store it
   * is given, and every step in it must be idempotent (they are: reservation and lease ids are the
   * caller's).
   */
  transaction<T>(fn: (ledger: LedgerStore) => Promise<T>): Promise<T> {
    return this.sql.transaction((tx) =>
      fn(new LedgerStore(transactionClient(this.sql, tx), this.migrations)),
    );
  }

  // budgets
  reserve(input: ReserveInput) {
    return reserve(this.sql, input);
  }
  settle(reservationId: string, actualCost: Nanos) {
    return settle(this.sql, reservationId, actualCost);
  }
  release(reservationId: string) {
    return release(this.sql, reservationId);
  }
  markUnknown(reservationId: string) {
    return markUnknown(this.sql, reservationId);
  }
  /** claim a held reservation for one upstream call; only the first claimer wins */
  claimCall(reservationId: string, claimer: string) {
    return claimCall(this.sql, reservationId, claimer);
  }
  callWasClaimed(reservationId: string) {
    return callWasClaimed(this.sql, reservationId);
  }
  /** who claimed the reservation's call; null when nobody did */
  callClaimedBy(reservationId: string) {
    return callClaimedBy(this.sql, reservationId);
  }
  listUnknown(filter: { period?: string; limit?: number } = {}) {
    return listUnknown(this.sql, filter);
  }
  getReservation(reservationId: string) {
    return getReservation(this.sql, reservationId);
  }
  listReservations(filter: ReservationFilter = {}) {
    return listReservations(this.sql, filter);
  }
  getSpend(scope: string, period: string) {
    return getSpend(this.sql, scope, period);
  }
  getTeamSpend(team: string, period: string) {
    return getTeamSpend(this.sql, team, period);
  }
  /** what /metrics reads: usage by team, model, outcome and kind, and refusals, of one period */
  metricsSnapshot(period: string) {
    return metricsSnapshot(this.sql, period);
  }
  listSpend(period: string) {
    return listSpend(this.sql, period);
  }

  // usage and refusals
  recordUsage(attempt: UsageAttempt) {
    return recordUsage(this.sql, attempt);
  }
  listUsage(filter: UsageFilter = {}) {
    return listUsage(this.sql, filter);
  }
  usageTotalsByModel(filter: TotalsFilter = {}) {
    return usageTotalsByModel(this.sql, filter);
  }
  usageTotalsByTeam(filter: TotalsFilter = {}) {
    return usageTotalsByTeam(this.sql, filter);
  }
  recordRefusal(refusal: RefusalInput) {
    return recordRefusal(this.sql, refusal);
  }
  refusalCounts(filter: { period?: string; team?: string | null } = {}) {
    return refusalCounts(this.sql, filter);
  }

  // alerts and pauses
  recordAlertOnce(scope: string, period: string, threshold: number, at?: Date) {
    return recordAlertOnce(this.sql, scope, period, threshold, at);
  }
  listAlerts(period: string) {
    return listAlerts(this.sql, period);
  }
  setTeamPause(input: SetPauseInput) {
    return setTeamPause(this.sql, input);
  }
  getTeamPause(team: string, period: string) {
    return getTeamPause(this.sql, team, period);
  }
  listPausedTeams(period: string) {
    return listPausedTeams(this.sql, period);
  }

  // rate limits
  tryAcquire(input: AcquireInput) {
    return tryAcquire(this.sql, input);
  }
  /** the authorize step's happy path in one statement (ledger/authorize-fast.ts) */
  authorizeFast(input: FastAuthorizeInput) {
    return authorizeFast(this.sql, input);
  }
  releaseLease(leaseId: string, now: number) {
    return releaseLease(this.sql, leaseId, now);
  }
  correctTokens(input: { leaseId: string; actualTokens: number }) {
    return correctTokens(this.sql, input);
  }
  recordUpstreamHeaders(model: string, headers: HeaderSource | UpstreamObservation, now: number) {
    return recordUpstreamHeaders(this.sql, model, headers, now);
  }
  getRateBucket(key: string, now: number) {
    return getRateBucket(this.sql, key, now);
  }
  purgeRateLeases(before: number) {
    return purgeRateLeases(this.sql, before);
  }

  // gateway keys
  createGatewayKey(input: CreateGatewayKeyInput) {
    return createGatewayKey(this.sql, input);
  }
  findGatewayKeyByPrefix(prefix: string) {
    return findGatewayKeyByPrefix(this.sql, prefix);
  }
  getGatewayKey(id: string) {
    return getGatewayKey(this.sql, id);
  }
  revokeGatewayKey(id: string, at?: Date) {
    return revokeGatewayKey(this.sql, id, at);
  }
  listGatewayKeys(filter: { team?: string | null; includeRevoked?: boolean } = {}) {
    return listGatewayKeys(this.sql, filter);
  }
  touchGatewayKey(id: string, at: Date) {
    return touchGatewayKey(this.sql, id, at);
  }

  // the completion hot path in fewer round trips (completion-path.ts)
  policySnapshot(keyId: string, period: string) {
    return policySnapshot(this.sql, keyId, period);
  }
  spendOfScopes(scopes: readonly string[], period: string) {
    return spendOfScopes(this.sql, scopes, period);
  }
  bookCompletion(input: BookCompletionInput) {
    return bookCompletion(this.sql, input);
  }

  // audit
  appendAudit(entry: AuditInput) {
    return appendAudit(this.sql, entry);
  }
  listAudit(filter: AuditFilter = {}) {
    return listAudit(this.sql, filter);
  }
}

/** An open transaction seen as a client: statements run in it, and a nested transaction is the same one. */
function transactionClient(outer: SqlClient, tx: SqlQueryable): SqlClient {
  return {
    driver: outer.driver,
    query: (text, params) => tx.query(text, params),
    exec: (script) => tx.exec(script),
    transaction: (fn) => fn(tx),
    withLock: () => Promise.reject(new Error('withLock is not available inside a transaction')),
    close: () => Promise.reject(new Error('a transaction is closed by its owner')),
  };
}
