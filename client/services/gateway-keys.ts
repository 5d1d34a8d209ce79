/**
 * Gateway keys: issuing, authenticating, revoking and listing the keys applications and admins present
 * to the gateway, with role-based access control (domain/rbac.ts) and an audit entry for every change.
 *
 * Keys look like `ggk_<publicId>_<secret>` (see gateway-keys-format.ts). The plaintext is returned once
 * by `issueKey`/`bootstrapOrgAdmin` and never stored: the ledger keeps the SHA-256 of the secret, finds
 * a presented key by its public id and compares hashes with `crypto.timingSafeEqual`.
 *
 * Authentication caches what it read from the ledger for `cacheTtlMs` (5 s by default) per process. A
 * revocation made through this module in the same process takes effect at once; one made by another
 * process (or directly in the database) takes effect here at most `cacheTtlMs` later. Expiry is checked
 * against the clock on every request, cached or not.
 */
import { createHash } from 'node:crypto';
import type { GovernorConfig } from '../../domain/config';
import { parseDurationMs } from '../../domain/config';
import { authorize, isRole, type Action, type Principal, type Role, type Target } from '../../domain/rbac';
import { appendAudit } from '../../ledger/audit';
import {
  createGatewayKey,
  getGatewayKey,
  listGatewayKeys,
  secretMatches,
  type GatewayKey,
} from '../../ledger/keys';
import { revokeGatewayKeyIfActive } from '../../ledger/keys-extra';
import type { SqlQueryable } from '../../ledger/sql';
import type { LedgerStore } from '../../ledger/store';
import { generateKey, keyIdFor, parseKey } from './gateway-keys-format';

export { parseKey, formatKey, keyIdFor, generateKey } from './gateway-keys-format';

/** Who performs a key operation: an authenticated key, or the operator (direct database access, the CLI). */
export type Actor = Principal | 'operator';

/** A key as anyone may see it: everything but the secret's hash. */
export interface GatewayKeyRecord {
  id: string;
  /** the public part of the key, `ggk_<publicId>_...` */
  publicId: string;
  team: string | null;
  role: Role;
  name: string;
  models: string[] | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
  createdBy: string;
  lastUsedAt: Date | null;
}

export type KeyStatus = 'active' | 'revoked' | 'expired';

export type GatewayKeyErrorCode =
  'permission_denied' | 'invalid_request' | 'key_not_found' | 'already_bootstrapped';

/** A refused key operation, with a stable code the gateway and the CLI map to an answer. */
export class GatewayKeyError extends Error {
  constructor(
    readonly code: GatewayKeyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayKeyError';
  }
}

export interface ServiceOptions {
  /** the clock (default: now) */
  now?: Date;
  /** the audit actor when the actor is 'operator' (the CLI passes `cli:<os user>`); default 'operator' */
  auditActor?: string;
}

export function toRecord(key: GatewayKey): GatewayKeyRecord {
  return {
    id: key.id,
    publicId: key.prefix,
    team: key.team,
    role: key.role,
    name: key.name,
    models: key.models,
    expiresAt: key.expiresAt,
    revokedAt: key.revokedAt,
    createdAt: key.createdAt,
    createdBy: key.createdBy,
    lastUsedAt: key.lastUsedAt,
  };
}

export function keyStatus(
  key: Pick<GatewayKeyRecord, 'revokedAt' | 'expiresAt'>,
  now: Date = new Date(),
): KeyStatus {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && key.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

export function principalOf(key: Pick<GatewayKey, 'id' | 'role' | 'team' | 'models'>): Principal {
  return {
    keyId: key.id,
    role: key.role,
    team: key.team,
    ...(key.models ? { models: [...key.models] } : {}),
  };
}

function auditActorOf(actor: Actor, options: ServiceOptions): string {
  return actor === 'operator' ? (options.auditActor ?? 'operator') : `key:${actor.keyId}`;
}

/** The JSON written to the audit log for a key: no hash, no secret. */
function auditView(key: GatewayKeyRecord) {
  return {
    id: key.id,
    publicId: key.publicId,
    team: key.team,
    role: key.role,
    name: key.name,
    models: key.models,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
    createdAt: key.createdAt.toISOString(),
    createdBy: key.createdBy,
  };
}

function keyTarget(id: string): string {
  return `gateway_key:${id}`;
}

// ---------------------------------------------------------------------------------------------------
// authentication

export type AuthFailureCode = 'invalid_api_key' | 'expired_api_key' | 'revoked_api_key';
export type AuthResult =
  { ok: true; principal: Principal } | { ok: false; code: AuthFailureCode; message: string };

export const AUTH_MESSAGES: Readonly<Record<AuthFailureCode, string>> = {
  invalid_api_key: 'Invalid API key. Present a gateway key as "Authorization: Bearer ggk_...".',
  expired_api_key: 'This API key has expired. Ask your team admin for a new one.',
  revoked_api_key: 'This API key has been revoked. Ask your team admin for a new one.',
};

export interface AuthenticatorOptions {
  /** how long a key read from the ledger is trusted before it is read again (default 5000 ms) */
  cacheTtlMs?: number;
  /** last_used_at is written at most once per this interval per key (default 60000 ms) */
  touchIntervalMs?: number;
  /** at most this many keys are cached; the least recently read is dropped first (default 10000) */
  maxEntries?: number;
  /** the clock in epoch ms (default Date.now) */
  now?: () => number;
}

export const DEFAULT_CACHE_TTL_MS = 5_000;
export const DEFAULT_TOUCH_INTERVAL_MS = 60_000;

interface CacheEntry {
  key: GatewayKey;
  fetchedAt: number;
  /** the last time last_used_at was written (or read as written) for this key */
  touchedAt: number;
}

/** Compared against when no key has the presented public id, so every refusal costs one hash compare. */
const DUMMY_HASH = createHash('sha256').update('groq-governor:no-such-key').digest('hex');

const authenticators = new WeakMap<LedgerStore, Set<WeakRef<KeyAuthenticator>>>();

/** Checks presented keys against one ledger, with a short per-process cache. */
export class KeyAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<GatewayKey | null>>();
  private readonly ttlMs: number;
  private readonly touchIntervalMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;

  constructor(
    private readonly ledger: LedgerStore,
    options: AuthenticatorOptions = {},
  ) {
    this.ttlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
    this.touchIntervalMs = options.touchIntervalMs ?? DEFAULT_TOUCH_INTERVAL_MS;
    this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
    this.clock = options.now ?? Date.now;
    let set = authenticators.get(ledger);
    if (!set) authenticators.set(ledger, (set = new Set()));
    set.add(new WeakRef(this));
  }

  /** `Authorization` header value (`Bearer ggk_...`) or the bare key. */
  async authenticate(presented: string | null | undefined): Promise<AuthResult> {
    const parsed = typeof presented === 'string' ? parseKey(presented) : null;
    if (!parsed) return refuse('invalid_api_key');
    const now = this.clock();
    const entry = await this.lookup(parsed.publicId, now);
    if (!entry) {
      secretMatches(DUMMY_HASH, parsed.secret);
      return refuse('invalid_api_key');
    }
    const { key } = entry;
    // the secret first: a caller without it learns nothing about the key's state
    if (!secretMatches(key.secretHash, parsed.secret)) return refuse('invalid_api_key');
    if (key.revokedAt !== null) return refuse('revoked_api_key');
    if (key.expiresAt !== null && key.expiresAt.getTime() <= now) return refuse('expired_api_key');
    if (now - entry.touchedAt >= this.touchIntervalMs) {
      entry.touchedAt = now; // claimed before awaiting, so concurrent requests do not write too
      await this.ledger.touchGatewayKey(key.id, new Date(now)).catch(() => undefined);
    }
    return { ok: true, principal: principalOf(key) };
  }

  /** Forget a cached key (by public id), so its next use reads the ledger. */
  invalidate(publicId: string): void {
    this.cache.delete(publicId);
  }

  clear(): void {
    this.cache.clear();
  }

  private async lookup(publicId: string, now: number): Promise<CacheEntry | null> {
    const cached = this.cache.get(publicId);
    if (cached && now >= cached.fetchedAt && now - cached.fetchedAt < this.ttlMs) return cached;
    let pending = this.inflight.get(publicId);
    if (!pending) {
      pending = this.ledger.findGatewayKeyByPrefix(publicId).finally(() => this.inflight.delete(publicId));
      this.inflight.set(publicId, pending);
    }
    const key = await pending;
    if (!key) {
      this.cache.delete(publicId);
      return null;
    }
    const previous = this.cache.get(publicId);
    const entry: CacheEntry = {
      key,
      fetchedAt: now,
      touchedAt: Math.max(
        previous?.touchedAt ?? Number.NEGATIVE_INFINITY,
        key.lastUsedAt?.getTime() ?? Number.NEGATIVE_INFINITY,
      ),
    };
    this.cache.delete(publicId);
    this.cache.set(publicId, entry);
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    return entry;
  }
}

function refuse(code: AuthFailureCode): AuthResult {
  return { ok: false, code, message: AUTH_MESSAGES[code] };
}

export function createAuthenticator(
  ledger: LedgerStore,
  options: AuthenticatorOptions = {},
): KeyAuthenticator {
  return new KeyAuthenticator(ledger, options);
}

const defaultAuthenticators = new WeakMap<LedgerStore, KeyAuthenticator>();

/**
 * Check a presented key (an `Authorization` header value or the bare key) with this ledger's default
 * authenticator (5 s cache, last_used_at written at most once a minute).
 */
export function authenticate(ledger: LedgerStore, authorizationHeaderOrKey: string | null | undefined) {
  let authenticator = defaultAuthenticators.get(ledger);
  if (!authenticator) {
    authenticator = new KeyAuthenticator(ledger);
    defaultAuthenticators.set(ledger, authenticator);
  }
  return authenticator.authenticate(authorizationHeaderOrKey);
}

/** Drop a key from every authenticator of this ledger in this process. */
function invalidateEverywhere(ledger: LedgerStore, publicId: string): void {
  const set = authenticators.get(ledger);
  if (!set) return;
  for (const ref of set) {
    const authenticator = ref.deref();
    if (authenticator) authenticator.invalidate(publicId);
    else set.delete(ref);
  }
}

// ---------------------------------------------------------------------------------------------------
// issuing

export interface IssueKeyRequest {
  /** null: an org-level key (org-admin, or an org-level viewer) */
  team: string | null;
  role: Role;
  name?: string;
  /** a duration such as '30d', '12h' or '90 minutes'; absent: the key does not expire */
  expiresIn?: string;
  /** a narrower allow-list within the team's models */
  models?: readonly string[];
}

export interface IssuedKey {
  /** the plaintext key: shown once, never stored */
  key: string;
  record: GatewayKeyRecord;
}

const MAX_NAME_LENGTH = 100;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function invalid(message: string): GatewayKeyError {
  return new GatewayKeyError('invalid_request', message);
}

interface ValidRequest {
  team: string | null;
  role: Role;
  name: string;
  expiresAt: Date | null;
  models: string[] | null;
}

/** Checks a request against the key rules and the configuration; throws `invalid_request`. */
function validateRequest(request: IssueKeyRequest, config: GovernorConfig, now: Date): ValidRequest {
  const { role } = request;
  if (!isRole(role))
    throw invalid(`unknown role ${JSON.stringify(role)}: one of org-admin, team-admin, member, viewer`);
  const team = request.team ?? null;
  if (role === 'org-admin' && team !== null) throw invalid('an org-admin key is org-level: it has no team');
  if ((role === 'team-admin' || role === 'member') && team === null)
    throw invalid(`a ${role} key needs a team`);
  const teamConfig = team === null ? undefined : config.teams.get(team);
  if (team !== null && !teamConfig) {
    const known = [...config.teams.keys()].join(', ') || 'none';
    throw invalid(`unknown team ${JSON.stringify(team)} (configured teams: ${known})`);
  }

  let models: string[] | null = null;
  if (request.models !== undefined) {
    if (!teamConfig) throw invalid('a model list applies to team keys only');
    models = [...new Set(request.models.map((model) => String(model).trim()))];
    if (models.length === 0 || models.some((model) => model === ''))
      throw invalid('the model list must name at least one model');
    const outside = models.filter((model) => !teamConfig.allowedModels.includes(model));
    if (outside.length > 0)
      throw invalid(
        `team ${JSON.stringify(team)} may not use ${outside.join(', ')} (allowed: ${teamConfig.allowedModels.join(', ')})`,
      );
  }

  let expiresAt: Date | null = null;
  if (request.expiresIn !== undefined) {
    const ms = parseDurationMs(request.expiresIn);
    if (ms === null || ms <= 0)
      throw invalid(
        `expiry ${JSON.stringify(request.expiresIn)} is not a positive duration such as 30d or 12h`,
      );
    expiresAt = new Date(now.getTime() + ms);
    if (Number.isNaN(expiresAt.getTime()) || expiresAt.getUTCFullYear() > 9999)
      throw invalid(`expiry ${JSON.stringify(request.expiresIn)} is too far away`);
  }

  const name = (request.name ?? '').trim() || `${role} key for ${team === null ? 'the org' : team}`;
  if (name.length > MAX_NAME_LENGTH) throw invalid(`the name is longer than ${MAX_NAME_LENGTH} characters`);
  if (CONTROL_CHARS.test(name)) throw invalid('the name contains control characters');
  return { team, role, name, expiresAt, models };
}

/** Check a principal's permission; a refusal is audited (who tried what) and thrown. */
async function enforce(
  ledger: LedgerStore,
  actor: Actor,
  action: Action,
  target: Target,
  auditTarget: string,
  options: ServiceOptions,
): Promise<void> {
  if (actor === 'operator') return;
  const decision = authorize(actor, action, target);
  if (decision.allowed) return;
  await ledger.appendAudit({
    actor: auditActorOf(actor, options),
    action: `${action}.denied`,
    target: auditTarget,
    after: { reason: decision.reason, team: target.team ?? null, role: target.role ?? null },
    ...(options.now ? { at: options.now } : {}),
  });
  throw new GatewayKeyError('permission_denied', decision.reason);
}

async function insertKey(
  tx: SqlQueryable,
  valid: ValidRequest,
  createdBy: string,
  action: string,
  now: Date,
  extra: Record<string, unknown> = {},
): Promise<IssuedKey> {
  const generated = generateKey();
  const created = await createGatewayKey(tx, {
    id: keyIdFor(generated.publicId),
    prefix: generated.publicId,
    secret: generated.secret,
    team: valid.team,
    role: valid.role,
    name: valid.name,
    models: valid.models,
    expiresAt: valid.expiresAt,
    createdBy,
    createdAt: now,
  });
  const record = toRecord(created);
  await appendAudit(tx, {
    actor: createdBy,
    action,
    target: keyTarget(record.id),
    before: null,
    after: { ...auditView(record), ...extra },
    at: now,
  });
  return { key: generated.key, record };
}

/**
 * Issue a key. The operator may issue any valid key; a principal only what `keys.issue` allows it
 * (a team-admin: member and viewer keys of its own team, within its own model list). The team must be
 * configured and the models within its allow-list. The key and its audit entry are written in one
 * transaction; the plaintext is in the result only.
 */
export async function issueKey(
  ledger: LedgerStore,
  actor: Actor,
  request: IssueKeyRequest,
  config: GovernorConfig,
  options: ServiceOptions = {},
): Promise<IssuedKey> {
  const now = options.now ?? new Date();
  const team = request.team ?? null;
  // a principal limited to some models hands its own list down when the request names none
  const models = request.models ?? (actor !== 'operator' && actor.team === team ? actor.models : undefined);
  // permission first, so a refused caller learns nothing about the configuration
  await enforce(
    ledger,
    actor,
    'keys.issue',
    { team, role: request.role, ...(models !== undefined ? { models } : {}) },
    team === null ? 'org' : `team:${team}`,
    options,
  );
  const valid = validateRequest(
    { ...request, team, ...(models !== undefined ? { models } : {}) },
    config,
    now,
  );
  const createdBy = auditActorOf(actor, options);
  return ledger.sql.transaction((tx) => insertKey(tx, valid, createdBy, 'keys.issue', now));
}

// ---------------------------------------------------------------------------------------------------
// revoking and listing

export interface RevokeResult {
  record: GatewayKeyRecord;
  /** false: it was already revoked (nothing written) */
  changed: boolean;
}

/**
 * Revoke a key (idempotent). A team-admin may revoke member and viewer keys of its own team. The
 * revocation and its audit entry are one transaction; this process's authentication cache forgets the
 * key at once (other processes within their cache TTL).
 */
export async function revokeKey(
  ledger: LedgerStore,
  actor: Actor,
  keyId: string,
  options: ServiceOptions = {},
): Promise<RevokeResult> {
  const now = options.now ?? new Date();
  const existing = await ledger.getGatewayKey(keyId);
  if (!existing) throw new GatewayKeyError('key_not_found', `no gateway key ${JSON.stringify(keyId)}`);
  await enforce(
    ledger,
    actor,
    'keys.revoke',
    { team: existing.team, role: existing.role, ownerKeyId: existing.id },
    keyTarget(existing.id),
    options,
  );
  const result = await ledger.sql.transaction(async (tx): Promise<RevokeResult> => {
    const before = await getGatewayKey(tx, keyId);
    if (!before) throw new GatewayKeyError('key_not_found', `no gateway key ${JSON.stringify(keyId)}`);
    const changed = await revokeGatewayKeyIfActive(tx, keyId, now);
    const after = changed ? await getGatewayKey(tx, keyId) : before;
    if (!after) throw new GatewayKeyError('key_not_found', `no gateway key ${JSON.stringify(keyId)}`);
    if (changed) {
      await appendAudit(tx, {
        actor: auditActorOf(actor, options),
        action: 'keys.revoke',
        target: keyTarget(keyId),
        before: auditView(toRecord(before)),
        after: auditView(toRecord(after)),
        at: now,
      });
    }
    return { record: toRecord(after), changed };
  });
  invalidateEverywhere(ledger, existing.prefix);
  return result;
}

export interface ListKeysFilter {
  /** a team, null for org-level keys, undefined for every key the actor may see */
  team?: string | null;
  /** include revoked and expired keys (default: active keys only) */
  includeInactive?: boolean;
}

export type ListedKey = GatewayKeyRecord & { status: KeyStatus };

/** Keys the actor may see (a team-admin: its own team's), never with hashes. Not audited: it changes nothing. */
export async function listKeys(
  ledger: LedgerStore,
  actor: Actor,
  filter: ListKeysFilter = {},
  options: Pick<ServiceOptions, 'now'> = {},
): Promise<ListedKey[]> {
  const now = options.now ?? new Date();
  let team = filter.team;
  if (actor !== 'operator') {
    const decision = authorize(actor, 'keys.list', { team: filter.team });
    if (!decision.allowed) throw new GatewayKeyError('permission_denied', decision.reason);
    if (actor.team !== null) team = actor.team;
  }
  const keys = await ledger.listGatewayKeys({
    ...(team !== undefined ? { team } : {}),
    includeRevoked: filter.includeInactive === true,
  });
  return keys
    .map((key) => ({ ...toRecord(key), status: keyStatus(key, now) }))
    .filter((key) => filter.includeInactive === true || key.status === 'active');
}

// ---------------------------------------------------------------------------------------------------
// bootstrap

/** Advisory lock key for bootstrap: the first 8 bytes of sha256('groq-governor:gateway-keys:bootstrap'). */
export const BOOTSTRAP_LOCK_KEY = BigInt.asIntN(
  64,
  BigInt(
    '0x' + createHash('sha256').update('groq-governor:gateway-keys:bootstrap').digest('hex').slice(0, 16),
  ),
);

export interface BootstrapOptions extends ServiceOptions {
  name?: string;
  /** issue another org-admin key even though an active one exists */
  force?: boolean;
}

/**
 * Create the first org-admin key. Refused (`already_bootstrapped`) while an active (not revoked, not
 * expired) org-admin key exists, unless `force`. Runs under a lock, so concurrent bootstraps issue one key.
 */
export async function bootstrapOrgAdmin(
  ledger: LedgerStore,
  options: BootstrapOptions = {},
): Promise<IssuedKey> {
  const now = options.now ?? new Date();
  const createdBy = options.auditActor ?? 'operator';
  const name = (options.name ?? '').trim() || 'first org-admin key';
  if (name.length > MAX_NAME_LENGTH) throw invalid(`the name is longer than ${MAX_NAME_LENGTH} characters`);
  if (CONTROL_CHARS.test(name)) throw invalid('the name contains control characters');
  return ledger.sql.withLock(BOOTSTRAP_LOCK_KEY, (session) =>
    session.transaction(async (tx) => {
      const active = (await listGatewayKeys(tx, { team: null })).filter(
        (key) => key.role === 'org-admin' && keyStatus(key, now) === 'active',
      );
      if (active.length > 0 && options.force !== true)
        throw new GatewayKeyError(
          'already_bootstrapped',
          `an active org-admin key already exists (${active.map((key) => key.id).join(', ')}); ` +
            'revoke it first or force another one',
        );
      return insertKey(
        tx,
        { team: null, role: 'org-admin', name, expiresAt: null, models: null },
        createdBy,
        'keys.bootstrap',
        now,
        { forced: active.length > 0, activeOrgAdmins: active.map((key) => key.id) },
      );
    }),
  );
}
