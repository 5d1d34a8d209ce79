/** Budget periods: calendar months in the org's timezone, keyed 'YYYY-MM'. */

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

export function isPeriod(value: string): boolean {
  return PERIOD.test(value);
}

export function assertPeriod(value: string): void {
  if (!isPeriod(value)) throw new RangeError(`period must look like 2026-11, got ${JSON.stringify(value)}`);
}

/** One formatter per timezone: building an Intl.DateTimeFormat costs far more than using one. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit' });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The period containing `at` in `timeZone` (an IANA name such as 'Europe/Paris'). */
export function periodOf(at: Date, timeZone: string): string {
  const parts = formatterFor(timeZone).formatToParts(at);
  const year = parts.find((part) => part.type === 'year')?.value;
  const month = parts.find((part) => part.type === 'month')?.value;
  if (!year || !month)
    throw new RangeError(`cannot compute the period of ${at.toISOString()} in ${timeZone}`);
  return `${year.padStart(4, '0')}-${month}`;
}

/** Budget scope names: the org, or one team. */
export const ORG_SCOPE = 'org';

export function teamScope(team: string): string {
  assertTeam(team);
  return `team:${team}`;
}

export function assertTeam(team: string): void {
  if (team.length === 0 || team.trim() !== team) {
    throw new RangeError(
      `team name must be non-empty without surrounding spaces, got ${JSON.stringify(team)}`,
    );
  }
}
