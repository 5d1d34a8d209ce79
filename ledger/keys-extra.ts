/**
 * Gateway key operations beyond ledger/keys.ts, for the key service (client/services/gateway-keys.ts).
 */
import type { SqlQueryable } from './sql';

/**
 * Revoke the key only if it is still live. True when this call revoked it, false when it was already
 * revoked (or does not exist). The conditional UPDATE takes the row lock, so of two concurrent
 * revocations exactly one sees true: the caller audits only a change it made.
 */
export async function revokeGatewayKeyIfActive(db: SqlQueryable, id: string, at: Date): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE gateway_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`,
    [id, at],
  );
  return rowCount === 1;
}
