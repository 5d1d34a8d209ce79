/**
 * Upstream key versions, event-sourced in the audit log. Each state change of a key name's versions is
 * one audit entry (target `upstream_key:<name>`, action `upstream_key.<kind>`, the event in `after`),
 * so the ledger every process shares is the one place the states live, every change is audited by
 * construction, and no new table is needed. The states are the fold of the entries in id order
 * (domain/key-versions.ts). Secrets are never here: only versions, states and fingerprints.
 *
 * Writers take a transaction-scoped advisory lock per key name, read the current states, check the
 * transition against them and append, so two transitions of one name never interleave.
 */
import {
  foldKeyVersions,
  KEY_VERSION_EVENT_KINDS,
  type KeyVersion,
  type KeyVersionEvent,
  type VersionTraffic,
} from '../domain/key-versions';
import { asNumber, toJsonText, type SqlClient, type SqlQueryable } from './sql';

export const keyTarget = (keyName: string): string => `upstream_key:${keyName}`;

const ACTIONS = KEY_VERSION_EVENT_KINDS.map((kind) => `upstream_key.${kind}`);

function toEvent(action: unknown, after: unknown): KeyVersionEvent | null {
  if (typeof action !== 'string' || !action.startsWith('upstream_key.')) return null;
  const body = (typeof after === 'string' ? JSON.parse(after) : after) as Record<string, unknown> | null;
  if (!body || typeof body !== 'object') return null;
  return { ...body, kind: action.slice('upstream_key.'.length) } as KeyVersionEvent;
}

export async function keyVersionEvents(db: SqlQueryable, keyName: string): Promise<KeyVersionEvent[]> {
  const { rows } = await db.query(
    `SELECT action, after FROM audit_log WHERE target = $1 AND action = ANY($2::text[]) ORDER BY id`,
    [keyTarget(keyName), ACTIONS],
  );
  return rows.map((row) => toEvent(row.action, row.after)).filter((e): e is KeyVersionEvent => e !== null);
}

export async function listKeyVersions(db: SqlQueryable, keyName: string): Promise<KeyVersion[]> {
  return foldKeyVersions(await keyVersionEvents(db, keyName));
}

/** Every key name that has versions. */
export async function keyNamesWithVersions(db: SqlQueryable): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT DISTINCT target FROM audit_log WHERE action = 'upstream_key.add' ORDER BY target`,
  );
  return rows.map((row) => String(row.target).slice('upstream_key:'.length));
}

export class KeyVersionConflict extends Error {
  override name = 'KeyVersionConflict';
}

/**
 * Append one event for `keyName` if `check` accepts the current versions (it throws KeyVersionConflict
 * otherwise, or returns null to append nothing). Returns the versions after the change.
 */
export async function changeKeyVersions(
  db: SqlClient,
  keyName: string,
  actor: string,
  decide: (versions: KeyVersion[]) => KeyVersionEvent | null,
  at: Date = new Date(),
): Promise<{ versions: KeyVersion[]; event: KeyVersionEvent | null }> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [keyTarget(keyName)]);
    const events = await keyVersionEvents(tx, keyName);
    const event = decide(foldKeyVersions(events));
    if (event === null) return { versions: foldKeyVersions(events), event: null };
    const { kind, ...body } = event;
    await tx.query(
      `INSERT INTO audit_log (at, actor, action, target, before, after) VALUES ($1, $2, $3, $4, NULL, $5::jsonb)`,
      [at, actor, `upstream_key.${kind}`, keyTarget(keyName), toJsonText(body)],
    );
    return { versions: foldKeyVersions([...events, event]), event };
  });
}

/**
 * Cumulative requests per version of a key name, from the usage rows (attempts of unknown outcome
 * count as requests). Errors are the answers that point at the key or at Groq: 401, 403 and 5xx.
 */
export async function trafficByVersion(db: SqlQueryable, keyName: string): Promise<VersionTraffic[]> {
  const { rows } = await db.query(
    `SELECT key_version,
            count(*) AS requests,
            count(*) FILTER (WHERE http_status IN (401, 403) OR http_status >= 500) AS errors,
            count(*) FILTER (WHERE http_status = 401) AS unauthorized
       FROM usage_records WHERE key_name = $1 AND key_version > 0
      GROUP BY key_version ORDER BY key_version`,
    [keyName],
  );
  return rows.map((row) => ({
    version: asNumber(row.key_version, 'key_version'),
    requests: Number(row.requests),
    errors: Number(row.errors),
    unauthorized: Number(row.unauthorized),
  }));
}
