/**
 * Durations written the way Temporal's TypeScript SDK accepts them (the `ms` format): "1 day", "12h",
 * "30 minutes", "90s". Only whole-or-decimal number + unit; no combined forms like "1h30m".
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  msec: 1,
  msecs: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

const DURATION = /^(\d+(?:\.\d+)?) ?([a-z]+)$/i;

/** Milliseconds of a duration such as "1 day"; null when the text is not one. */
export function parseDurationMs(text: string): number | null {
  const match = DURATION.exec(text.trim());
  if (!match) return null;
  const unit = UNIT_MS[(match[2] ?? '').toLowerCase()];
  if (unit === undefined) return null;
  const ms = Math.round(Number(match[1]) * unit);
  return Number.isSafeInteger(ms) ? ms : null;
}
