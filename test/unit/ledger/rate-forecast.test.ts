// When the waiting requests of a chunk would fit the sliding minute, and which of them wake together.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forecastFits, wakeTogether, WAKE_SPREAD_MS } from '../../../ledger/rate-forecast';
import { admitIntoDay, decideAdmission, MINUTE_WINDOW_MS } from '../../../ledger/rate-math';
import { snapshot } from '../../support/rate-snapshot';

const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);

describe('forecastFits', () => {
  it('times each waiting request by the admission that has to leave the minute for it', () => {
    // 10 RPM, full: admitted at T0, T0+100, ..., T0+900
    const recent = Array.from({ length: 10 }, (_, n) => ({ at: T0 + n * 100, tokens: 1 }));
    const now = T0 + 5_000;
    const fits = forecastFits([snapshot({ rpm: 10 }, recent)], [1, 1, 1, 1], now);
    expect(fits).toEqual([0, 1, 2, 3].map((n) => T0 + n * 100 + MINUTE_WINDOW_MS));
    // the snapshots given are left as they were
    expect(recent).toHaveLength(10);
  });

  it('counts tokens against TPM, request after request, and answers null for a request larger than a limit', () => {
    const recent = [
      { at: T0, tokens: 600 },
      { at: T0 + 1_000, tokens: 400 },
    ];
    const now = T0 + 2_000;
    const fits = forecastFits([snapshot({ tpm: 1_000 }, recent)], [500, 5_000, 400], now);
    // 500 fits once the 600 leave; 5,000 never; 400 fits beside the 500 once the other 400 leave too
    expect(fits).toEqual([T0 + MINUTE_WINDOW_MS, null, T0 + 1_000 + MINUTE_WINDOW_MS]);
  });

  it('agrees with admitting one request after another at the forecast times (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 0, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 10 }),
        (rpm, offsets, tokens) => {
          const recent = offsets.map((offset) => ({ at: T0 + offset, tokens: 1 }));
          const now = T0 + 60_000;
          const limits = { rpm, tpm: rpm * 4 };
          const fits = forecastFits([snapshot(limits, recent)], tokens, now);
          // replay: each request, at its forecast time and not a millisecond sooner, is admitted
          const state = snapshot(limits, [...recent]);
          let last = now;
          tokens.forEach((need, n) => {
            const at = fits[n];
            if (at === null || at === undefined) {
              expect(decideAdmission([state], need, last)).toMatchObject({ retryAfterMs: null });
              return;
            }
            expect(at).toBeGreaterThanOrEqual(last);
            expect(decideAdmission([state], need, at).admitted).toBe(true);
            if (at > last) expect(decideAdmission([state], need, at - 1).admitted).toBe(false);
            state.recent.push({ at, tokens: need });
            state.day = admitIntoDay(state.day, need, at);
            last = at;
          });
        },
      ),
    );
  });
});

describe('wakeTogether', () => {
  it('wakes requests whose fit times lie within the spread together, at the latest of them', () => {
    const now = T0;
    const fits = [T0 + 100, T0 + 300, T0 + 900, T0 + 1_200, T0 + 1_250, T0 + 5_000];
    expect(wakeTogether(fits, now)).toEqual([900, 900, 900, 1_250, 1_250, 5_000]);
    expect(wakeTogether(fits, now, 0)).toEqual([100, 300, 900, 1_200, 1_250, 5_000]);
    expect(WAKE_SPREAD_MS).toBe(1_000);
  });

  it('a request that can never fit wakes with the group before it', () => {
    expect(wakeTogether([T0 + 10, null, T0 + 20], T0)).toEqual([20, 20, 20]);
    expect(wakeTogether([null, T0 + 20], T0)).toEqual([20, 20]);
  });
});
