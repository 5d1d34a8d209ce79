/**
 * Team pauses. An admin pause holds until an admin lifts it; a budget pause holds for one budget period
 * and lifts by itself when the period changes (it is keyed by period).
 */
import { assertPeriod, assertTeam } from './period';
import { asDate, asNullableString, asString, type SqlQueryable } from './sql';

export type PauseKind = 'admin' | 'budget';

export interface TeamPauseEntry {
  kind: PauseKind;
  /** '' for admin pauses */
  period: string;
  reason: string | null;
  pausedBy: string;
  pausedAt: Date;
}

export interface TeamPauseState {
  team: string;
  paused: boolean;
  admin: TeamPauseEntry | null;
  budget: TeamPauseEntry | null;
}

export type SetPauseInput =
  | { team: string; kind: 'admin'; paused: boolean; by: string; reason?: string | null; at?: Date }
  | {
      team: string;
      kind: 'budget';
      period: string;
      paused: boolean;
      by: string;
      reason?: string | null;
      at?: Date;
    };

/** Pause or unpause; returns true when the state changed (idempotent). */
export async function setTeamPause(db: SqlQueryable, input: SetPauseInput): Promise<boolean> {
  assertTeam(input.team);
  const period = input.kind === 'budget' ? input.period : '';
  if (input.kind === 'budget') assertPeriod(period);
  if (!input.paused) {
    const result = await db.query('DELETE FROM team_pauses WHERE team = $1 AND kind = $2 AND period = $3', [
      input.team,
      input.kind,
      period,
    ]);
    return result.rowCount > 0;
  }
  const result = await db.query(
    `INSERT INTO team_pauses (team, kind, period, reason, paused_by, paused_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (team, kind, period) DO NOTHING`,
    [input.team, input.kind, period, input.reason ?? null, input.by, input.at ?? new Date()],
  );
  return result.rowCount === 1;
}

/** Whether `team` is paused in `period` (by an admin, or by its budget for that period). */
export async function getTeamPause(db: SqlQueryable, team: string, period: string): Promise<TeamPauseState> {
  assertPeriod(period);
  const { rows } = await db.query(
    `SELECT kind, period, reason, paused_by, paused_at FROM team_pauses
      WHERE team = $1 AND (kind = 'admin' OR (kind = 'budget' AND period = $2))`,
    [team, period],
  );
  const entries = rows.map((row): TeamPauseEntry => ({
    kind: asString(row.kind, 'kind') as PauseKind,
    period: asString(row.period, 'period'),
    reason: asNullableString(row.reason, 'reason'),
    pausedBy: asString(row.paused_by, 'paused_by'),
    pausedAt: asDate(row.paused_at, 'paused_at'),
  }));
  const admin = entries.find((entry) => entry.kind === 'admin') ?? null;
  const budget = entries.find((entry) => entry.kind === 'budget') ?? null;
  return { team, paused: admin !== null || budget !== null, admin, budget };
}

/** Every team paused in `period`, by name. */
export async function listPausedTeams(db: SqlQueryable, period: string): Promise<TeamPauseState[]> {
  const { rows } = await db.query(
    `SELECT DISTINCT team FROM team_pauses WHERE kind = 'admin' OR period = $1 ORDER BY team`,
    [period],
  );
  return Promise.all(rows.map((row) => getTeamPause(db, asString(row.team, 'team'), period)));
}
