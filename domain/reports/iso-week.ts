/**
 * ISO weeks in the org's time zone: "2026-W47" is Monday 00:00 to the next Monday 00:00 local time.
 * Pure calendar arithmetic plus Intl for the zone's offsets, so workflows may use it too.
 */

export interface IsoWeek {
  year: number;
  week: number;
}

export interface WeekBounds {
  week: string;
  /** Monday 00:00 local, as an instant */
  start: Date;
  /** the next Monday 00:00 local (exclusive) */
  end: Date;
  /** the 8 local midnights from start to end (days are 23, 24 or 25 hours long around DST) */
  midnights: Date[];
  /** the 7 local dates, "2026-11-16" ... "2026-11-22" */
  days: string[];
}

const WEEK = /^(\d{4})-W(\d{2})$/;
const DAY_MS = 86_400_000;

export function parseIsoWeek(text: string): IsoWeek {
  const match = WEEK.exec(text.trim());
  if (!match) throw new RangeError(`week must look like 2026-W47, got ${JSON.stringify(text)}`);
  const year = Number(match[1]);
  const week = Number(match[2]);
  if (week < 1 || week > weeksInYear(year)) {
    throw new RangeError(`${year} has no week ${week} (it has ${weeksInYear(year)})`);
  }
  return { year, week };
}

export function isIsoWeek(text: string): boolean {
  try {
    parseIsoWeek(text);
    return true;
  } catch {
    return false;
  }
}

export function formatIsoWeek(week: IsoWeek): string {
  return `${String(week.year).padStart(4, '0')}-W${String(week.week).padStart(2, '0')}`;
}

/** 52 or 53: a year has 53 ISO weeks when Dec 28 falls in week 53. */
export function weeksInYear(year: number): number {
  return isoWeekOfCalendarDay(Date.UTC(year, 11, 28)).week;
}

/** The ISO week of a calendar day given as the UTC midnight of that date. */
function isoWeekOfCalendarDay(utcMidnight: number): IsoWeek {
  const weekday = (new Date(utcMidnight).getUTCDay() + 6) % 7; // Monday 0 .. Sunday 6
  const thursday = utcMidnight + (3 - weekday) * DAY_MS;
  const year = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1;
  return { year, week };
}

/** The UTC midnight of the Monday of an ISO week, as a calendar date (no zone involved). */
function mondayOf(week: IsoWeek): number {
  const jan4 = Date.UTC(week.year, 0, 4);
  const weekday = (new Date(jan4).getUTCDay() + 6) % 7;
  return jan4 - weekday * DAY_MS + (week.week - 1) * 7 * DAY_MS;
}

/** The local calendar date of an instant in a zone, as the UTC midnight of that date. */
export function localDate(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'));
}

/** The zone's offset from UTC at an instant, in ms (Berlin in winter: +3_600_000). */
function offsetAt(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - (at - (at % 1000));
}

/** The instant of local midnight starting a calendar date (given as its UTC midnight) in a zone. */
export function zonedMidnight(utcMidnight: number, timeZone: string): Date {
  let guess = utcMidnight - offsetAt(utcMidnight, timeZone);
  const corrected = utcMidnight - offsetAt(guess, timeZone);
  if (corrected !== guess) guess = corrected;
  return new Date(guess);
}

function isoDate(utcMidnight: number): string {
  return new Date(utcMidnight).toISOString().slice(0, 10);
}

export function weekBounds(week: string, timeZone: string): WeekBounds {
  const monday = mondayOf(parseIsoWeek(week));
  const dates = Array.from({ length: 8 }, (_, day) => monday + day * DAY_MS);
  const midnights = dates.map((date) => zonedMidnight(date, timeZone));
  return {
    week: formatIsoWeek(parseIsoWeek(week)),
    start: midnights[0]!,
    end: midnights[7]!,
    midnights,
    days: dates.slice(0, 7).map(isoDate),
  };
}

/** The ISO week containing an instant, in a zone. */
export function isoWeekOf(at: Date, timeZone: string): string {
  return formatIsoWeek(isoWeekOfCalendarDay(localDate(at, timeZone)));
}

/** The ISO week just ended at an instant: the week before the one containing it. */
export function weekBefore(at: Date, timeZone: string): string {
  const today = localDate(at, timeZone);
  return formatIsoWeek(isoWeekOfCalendarDay(today - 7 * DAY_MS));
}

/** The week `n` weeks after (negative: before) a week. */
export function shiftWeek(week: string, n: number): string {
  return formatIsoWeek(isoWeekOfCalendarDay(mondayOf(parseIsoWeek(week)) + n * 7 * DAY_MS));
}

/** Weeks from `from` to `to`, both included, in order. */
export function weeksBetween(from: string, to: string): string[] {
  const first = mondayOf(parseIsoWeek(from));
  const last = mondayOf(parseIsoWeek(to));
  if (last < first) throw new RangeError(`${to} is before ${from}`);
  const weeks: string[] = [];
  for (let monday = first; monday <= last; monday += 7 * DAY_MS) {
    weeks.push(formatIsoWeek(isoWeekOfCalendarDay(monday)));
  }
  return weeks;
}

/** The budget month of a week: the month of its last day (Sunday), with that day's number and length. */
export function monthOfWeek(week: string): { period: string; dayOfMonth: number; daysInMonth: number } {
  const sunday = mondayOf(parseIsoWeek(week)) + 6 * DAY_MS;
  const date = new Date(sunday);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return {
    period: `${String(year).padStart(4, '0')}-${String(month + 1).padStart(2, '0')}`,
    dayOfMonth: date.getUTCDate(),
    daysInMonth: new Date(Date.UTC(year, month + 1, 0)).getUTCDate(),
  };
}
