/**
 * The egress journal (migrations/0008_upstream_calls.sql): one row per claimed reservation whose call
 * went through a worker's egress process. Every change is a conditional statement, so the egress that
 * sends a call and a run that recovers it after its worker died never both win: either the egress began
 * the call first (the recovering run waits for its answer) or the recovering run fenced it first (the
 * egress refuses to send it).
 */
import { asDate, asNullableNumber, asNullableString, asNumber, asString, type SqlQueryable } from './sql';

export type UpstreamCallState = 'sending' | 'answered' | 'failed' | 'fenced' | 'abandoned';

export interface UpstreamAnswer {
  status: number;
  /** the response headers that matter for booking (rate limits, request id, retry-after, content type) */
  headers: Record<string, string>;
  body: string;
}

export interface UpstreamCallRow {
  reservationId: string;
  state: UpstreamCallState;
  egress: string | null;
  keyVersion: number;
  /** whether the lease of a `sending` row still runs (by the database's clock) */
  leaseLive: boolean;
  answer: UpstreamAnswer | null;
  createdAt: Date;
}

function toRow(row: Record<string, unknown>): UpstreamCallRow {
  const status = asNullableNumber(row.status_code, 'status_code');
  const body = asNullableString(row.body, 'body');
  const headers = (typeof row.headers === 'string' ? JSON.parse(row.headers) : row.headers) as Record<
    string,
    string
  > | null;
  return {
    reservationId: asString(row.reservation_id, 'reservation_id'),
    state: asString(row.state, 'state') as UpstreamCallState,
    egress: asNullableString(row.egress, 'egress'),
    keyVersion: asNumber(row.key_version, 'key_version'),
    leaseLive: row.lease_live === true,
    answer: status !== null && body !== null ? { status, headers: headers ?? {}, body } : null,
    createdAt: asDate(row.created_at, 'created_at'),
  };
}

export class UpstreamCallJournal {
  constructor(private readonly db: SqlQueryable) {}

  /** The egress is about to send the call: false when the reservation has a row already (fenced, or a repeat). */
  async begin(input: { reservationId: string; egress: string; keyVersion: number; leaseMs: number }) {
    const { rowCount } = await this.db.query(
      `INSERT INTO upstream_calls (reservation_id, state, egress, key_version, lease_until)
       VALUES ($1, 'sending', $2, $3, now() + make_interval(secs => $4::double precision / 1000))
       ON CONFLICT (reservation_id) DO NOTHING`,
      [input.reservationId, input.egress, input.keyVersion, input.leaseMs],
    );
    return rowCount === 1;
  }

  /**
   * `begin` for several calls in one statement: gives the reservation ids begun (an id listed twice is
   * begun once; a repeated or fenced one is not begun).
   */
  async beginMany(
    entries: readonly { reservationId: string; egress: string; keyVersion: number; leaseMs: number }[],
  ): Promise<Set<string>> {
    if (entries.length === 0) return new Set();
    const { rows } = await this.db.query(
      `INSERT INTO upstream_calls (reservation_id, state, egress, key_version, lease_until)
       SELECT v.id, 'sending', v.egress, v.key_version, now() + make_interval(secs => v.lease_ms / 1000)
         FROM unnest($1::text[], $2::text[], $3::int[], $4::double precision[]) AS v(id, egress, key_version, lease_ms)
       ON CONFLICT (reservation_id) DO NOTHING
       RETURNING reservation_id`,
      [
        entries.map((entry) => entry.reservationId),
        entries.map((entry) => entry.egress),
        entries.map((entry) => entry.keyVersion),
        entries.map((entry) => entry.leaseMs),
      ],
    );
    return new Set(rows.map((row) => asString(row.reservation_id, 'reservation_id')));
  }

  /** `answer` for several calls in one statement: gives the reservation ids whose answer landed. */
  async answerMany(
    entries: readonly { reservationId: string; answer: UpstreamAnswer }[],
  ): Promise<Set<string>> {
    if (entries.length === 0) return new Set();
    const { rows } = await this.db.query(
      `UPDATE upstream_calls u
          SET state = 'answered', status_code = v.status, headers = v.headers::jsonb, body = v.body, updated_at = now()
         FROM unnest($1::text[], $2::int[], $3::text[], $4::text[]) AS v(id, status, headers, body)
        WHERE u.reservation_id = v.id AND u.state = 'sending'
        RETURNING u.reservation_id`,
      [
        entries.map((entry) => entry.reservationId),
        entries.map((entry) => entry.answer.status),
        entries.map((entry) => JSON.stringify(entry.answer.headers)),
        entries.map((entry) => entry.answer.body),
      ],
    );
    return new Set(rows.map((row) => asString(row.reservation_id, 'reservation_id')));
  }

  /** Groq answered: kept until the attempt is booked. False when the row is no longer `sending` (abandoned). */
  async answer(reservationId: string, answer: UpstreamAnswer): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE upstream_calls SET state = 'answered', status_code = $2, headers = $3::jsonb, body = $4, updated_at = now()
        WHERE reservation_id = $1 AND state = 'sending'`,
      [reservationId, answer.status, JSON.stringify(answer.headers), answer.body],
    );
    return rowCount === 1;
  }

  /** The call ended without an answer: Groq may or may not have run it. */
  async fail(reservationId: string): Promise<void> {
    await this.db.query(
      `UPDATE upstream_calls SET state = 'failed', updated_at = now() WHERE reservation_id = $1 AND state = 'sending'`,
      [reservationId],
    );
  }

  async get(reservationId: string): Promise<UpstreamCallRow | null> {
    const { rows } = await this.db.query(
      `SELECT *, lease_until > now() AS lease_live FROM upstream_calls WHERE reservation_id = $1`,
      [reservationId],
    );
    return rows[0] ? toRow(rows[0]) : null;
  }

  /** A recovering run: no row yet means the egress never began the call; the fence keeps it from ever doing so. */
  async fence(reservationId: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO upstream_calls (reservation_id, state, lease_until) VALUES ($1, 'fenced', now())
       ON CONFLICT (reservation_id) DO NOTHING`,
      [reservationId],
    );
    return rowCount === 1;
  }

  /** A `sending` row whose lease ran out (its egress died too): its outcome is unknown for good. */
  async abandonExpired(reservationId: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE upstream_calls SET state = 'abandoned', updated_at = now()
        WHERE reservation_id = $1 AND state = 'sending' AND lease_until <= now()`,
      [reservationId],
    );
    return rowCount === 1;
  }

  /**
   * Drop the rows of attempts that are settled one way or another (their reservation is no longer held)
   * and older than `olderThanMs`: an answer (a completion's text) is kept only as long as a run that died
   * right after booking it may still want its body. A held reservation's row is never dropped, so a
   * missing row always means the egress never began the call.
   */
  async sweep(olderThanMs: number): Promise<number> {
    const { rowCount } = await this.db.query(
      `DELETE FROM upstream_calls u USING budget_reservations r
        WHERE r.id = u.reservation_id AND r.state <> 'held'
          AND u.updated_at < now() - make_interval(secs => $1::double precision / 1000)`,
      [olderThanMs],
    );
    return rowCount;
  }
}
