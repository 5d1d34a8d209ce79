/** The audit log: who did what to which target, with the state before and after, append-only. */
import { asBigint, asDate, asString, toJsonText, type SqlQueryable, type SqlRow } from './sql';

export interface AuditInput {
  actor: string;
  action: string;
  target: string;
  /** any JSON-able value; bigints are stored as decimal strings */
  before?: unknown;
  after?: unknown;
  at?: Date;
}

export interface AuditEntry {
  id: bigint;
  at: Date;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}

function toEntry(row: SqlRow): AuditEntry {
  return {
    id: asBigint(row.id, 'id'),
    at: asDate(row.at, 'at'),
    actor: asString(row.actor, 'actor'),
    action: asString(row.action, 'action'),
    target: asString(row.target, 'target'),
    before: row.before ?? null,
    after: row.after ?? null,
  };
}

export async function appendAudit(db: SqlQueryable, entry: AuditInput): Promise<AuditEntry> {
  if (!entry.actor || !entry.action || !entry.target)
    throw new RangeError('actor, action and target are required');
  const { rows } = await db.query(
    `INSERT INTO audit_log (at, actor, action, target, before, after)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)
     RETURNING id, at, actor, action, target, before, after`,
    [
      entry.at ?? new Date(),
      entry.actor,
      entry.action,
      entry.target,
      toJsonText(entry.before),
      toJsonText(entry.after),
    ],
  );
  if (!rows[0]) throw new Error('audit insert returned nothing');
  return toEntry(rows[0]);
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  /** keyset pagination: entries with an id lower than this */
  beforeId?: bigint;
  /** default 100 */
  limit?: number;
}

/** Newest first. */
export async function listAudit(db: SqlQueryable, filter: AuditFilter = {}): Promise<AuditEntry[]> {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (column: string, value: unknown) => {
    params.push(value);
    where.push(`${column} $${params.length}`);
  };
  if (filter.actor !== undefined) add('actor =', filter.actor);
  if (filter.action !== undefined) add('action =', filter.action);
  if (filter.target !== undefined) add('target =', filter.target);
  if (filter.beforeId !== undefined) add('id <', filter.beforeId);
  params.push(filter.limit ?? 100);
  const { rows } = await db.query(
    `SELECT id, at, actor, action, target, before, after FROM audit_log
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(toEntry);
}
