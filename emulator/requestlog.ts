/**
 * Requests seen per key name per minute (emulator clock, UTC minute), with the statuses they got, so a
 * test can prove which key was used when. Requests with no Authorization header are logged as `(none)`,
 * with a secret the emulator never knew as `(unknown)`; a revoked key's requests keep its name.
 */
export const NO_KEY = '(none)';
export const UNKNOWN_KEY = '(unknown)';

interface MinuteCounts {
  requests: number;
  statuses: Map<string, number>;
}

export interface RequestLogMinute {
  /** ISO time of the minute's start */
  minute: string;
  start: number;
  requests: number;
  /** status code (or `timeout`, `cut`, `closed`) -> count */
  statuses: Record<string, number>;
}

export interface RequestLogReport {
  keys: Record<string, { requests: number; minutes: RequestLogMinute[] }>;
}

export interface RequestLogEntry {
  status(status: number | 'timeout' | 'cut' | 'closed'): void;
}

export class RequestLog {
  private byKey = new Map<string, Map<number, MinuteCounts>>();

  /** Count one request for `keyName` now; the returned handle records the status it got (once). */
  seen(keyName: string, now: number): RequestLogEntry {
    const start = Math.floor(now / 60_000) * 60_000;
    let minutes = this.byKey.get(keyName);
    if (!minutes) this.byKey.set(keyName, (minutes = new Map()));
    let counts = minutes.get(start);
    if (!counts) minutes.set(start, (counts = { requests: 0, statuses: new Map() }));
    counts.requests++;
    const bucket = counts;
    let recorded = false;
    return {
      status(status) {
        if (recorded) return;
        recorded = true;
        const key = String(status);
        bucket.statuses.set(key, (bucket.statuses.get(key) ?? 0) + 1);
      },
    };
  }

  /** Requests seen for a key name, optionally only in [fromMs, toMs). */
  count(keyName: string, fromMs = Number.NEGATIVE_INFINITY, toMs = Number.POSITIVE_INFINITY): number {
    let total = 0;
    for (const [start, counts] of this.byKey.get(keyName) ?? []) {
      if (start + 60_000 > fromMs && start < toMs) total += counts.requests;
    }
    return total;
  }

  report(): RequestLogReport {
    const keys: RequestLogReport['keys'] = {};
    for (const [name, minutes] of [...this.byKey.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const list = [...minutes.entries()]
        .sort(([a], [b]) => a - b)
        .map(([start, counts]) => ({
          minute: new Date(start).toISOString(),
          start,
          requests: counts.requests,
          statuses: Object.fromEntries([...counts.statuses.entries()].sort(([a], [b]) => a.localeCompare(b))),
        }));
      keys[name] = { requests: list.reduce((sum, minute) => sum + minute.requests, 0), minutes: list };
    }
    return { keys };
  }

  clear(): void {
    this.byKey = new Map();
  }
}
