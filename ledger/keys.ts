/**
 * Gateway keys issued by the governor. The secret itself is never stored: only its SHA-256 (hex). A
 * presented key is looked up by its public prefix and the caller compares hashes with
 * `secretMatches`, which runs in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GatewayKeyNotFoundError } from './errors';
import { assertTeam } from './period';
import { asDate, asNullableDate, asNullableString, asString, type SqlQueryable, type SqlRow } from './sql';

export type GatewayRole = 'org-admin' | 'team-admin' | 'member' | 'viewer';
export const GATEWAY_ROLES: readonly GatewayRole[] = ['org-admin', 'team-admin', 'member', 'viewer'];

export interface GatewayKey {
  id: string;
  prefix: string;
  /** hex SHA-256 of the secret */
  secretHash: string;
  /** null: an org-level key */
  team: string | null;
  role: GatewayRole;
  name: string;
  /** narrower model allow-list; null: whatever the team may use */
  models: string[] | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
  createdBy: string;
  lastUsedAt: Date | null;
}

export interface CreateGatewayKeyInput {
  id: string;
  prefix: string;
  /** the secret as shown once to its owner; only its hash is stored */
  secret: string;
  team: string | null;
  role: GatewayRole;
  name: string;
  models?: string[] | null;
  expiresAt?: Date | null;
  createdBy: string;
  createdAt?: Date;
}

/** Hex SHA-256 of a key secret. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time check of a presented secret against a stored hash. */
export function secretMatches(storedHash: string, presentedSecret: string): boolean {
  const expected = Buffer.from(storedHash, 'hex');
  const actual = createHash('sha256').update(presentedSecret, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

const KEY_COLUMNS = `id, prefix, secret_hash, team, role, name, models, expires_at, revoked_at, created_at, created_by,
  last_used_at`;

/** A gateway_keys row, decoded. */
export function toKey(row: SqlRow): GatewayKey {
  const models = row.models;
  return {
    id: asString(row.id, 'id'),
    prefix: asString(row.prefix, 'prefix'),
    secretHash: asString(row.secret_hash, 'secret_hash'),
    team: asNullableString(row.team, 'team'),
    role: asString(row.role, 'role') as GatewayRole,
    name: asString(row.name, 'name'),
    models: Array.isArray(models) ? models.map((m) => asString(m, 'models')) : null,
    expiresAt: asNullableDate(row.expires_at, 'expires_at'),
    revokedAt: asNullableDate(row.revoked_at, 'revoked_at'),
    createdAt: asDate(row.created_at, 'created_at'),
    createdBy: asString(row.created_by, 'created_by'),
    lastUsedAt: asNullableDate(row.last_used_at, 'last_used_at'),
  };
}

export async function createGatewayKey(db: SqlQueryable, input: CreateGatewayKeyInput): Promise<GatewayKey> {
  if (!GATEWAY_ROLES.includes(input.role)) throw new RangeError(`unknown role ${input.role}`);
  if (input.team !== null) assertTeam(input.team);
  if (input.role === 'org-admin' && input.team !== null) throw new RangeError('an org-admin key has no team');
  if (input.role === 'team-admin' && input.team === null)
    throw new RangeError('a team-admin key needs a team');
  if (!input.prefix || !input.secret) throw new RangeError('prefix and secret are required');
  const { rows } = await db.query(
    `INSERT INTO gateway_keys (id, prefix, secret_hash, team, role, name, models, expires_at, created_at, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     RETURNING ${KEY_COLUMNS}`,
    [
      input.id,
      input.prefix,
      hashSecret(input.secret),
      input.team,
      input.role,
      input.name,
      input.models ?? null,
      input.expiresAt ?? null,
      input.createdAt ?? new Date(),
      input.createdBy,
    ],
  );
  if (!rows[0]) throw new Error('gateway key insert returned nothing');
  return toKey(rows[0]);
}

/** The key with this public prefix (revoked and expired keys included: the caller decides). */
export async function findGatewayKeyByPrefix(db: SqlQueryable, prefix: string): Promise<GatewayKey | null> {
  const { rows } = await db.query(`SELECT ${KEY_COLUMNS} FROM gateway_keys WHERE prefix = $1`, [prefix]);
  return rows[0] ? toKey(rows[0]) : null;
}

export async function getGatewayKey(db: SqlQueryable, id: string): Promise<GatewayKey | null> {
  const { rows } = await db.query(`SELECT ${KEY_COLUMNS} FROM gateway_keys WHERE id = $1`, [id]);
  return rows[0] ? toKey(rows[0]) : null;
}

/** Revoke a key; idempotent (the first revocation time is kept). */
export async function revokeGatewayKey(
  db: SqlQueryable,
  id: string,
  at: Date = new Date(),
): Promise<GatewayKey> {
  const { rows } = await db.query(
    `UPDATE gateway_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
    [id, at],
  );
  if (!rows[0]) throw new GatewayKeyNotFoundError(id);
  return toKey(rows[0]);
}

export async function listGatewayKeys(
  db: SqlQueryable,
  filter: { team?: string | null; includeRevoked?: boolean } = {},
): Promise<GatewayKey[]> {
  const params: unknown[] = [];
  const where: string[] = [];
  if (filter.team === null) where.push('team IS NULL');
  else if (filter.team !== undefined) {
    params.push(filter.team);
    where.push(`team = $${params.length}`);
  }
  if (!filter.includeRevoked) where.push('revoked_at IS NULL');
  const { rows } = await db.query(
    `SELECT ${KEY_COLUMNS} FROM gateway_keys ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at, id`,
    params,
  );
  return rows.map(toKey);
}

/** Note a use of the key; last_used_at only moves forward. */
export async function touchGatewayKey(db: SqlQueryable, id: string, at: Date): Promise<void> {
  await db.query(
    `UPDATE gateway_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`,
    [id, at],
  );
}
