/**
 * The ledger side of speech, audio and Responses on PGlite and PostgreSQL: audio seconds per hour and
 * day admitted atomically (a race never exceeds a limit), given back and corrected; uploads stored and
 * read back byte for byte; usage rows with their endpoint and unit, totalled per endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type LedgerStore } from '../../../ledger';
import {
  audioSecondsUsed,
  deleteUpload,
  getUpload,
  HOUR_MS,
  putUpload,
  recordUnitUsage,
  releaseAudio,
  tryAcquireAudio,
  usageByEndpoint,
} from '../../../ledger/modalities';
import {
  pgliteTarget,
  postgresTarget,
  probePostgres,
  testDatabaseUrl,
  type LedgerTestTarget,
} from './harness';

const url = testDatabaseUrl();
const postgres = (await probePostgres(url)) === null;
const targets: LedgerTestTarget[] = [pgliteTarget(), ...(postgres ? [postgresTarget(url)] : [])];

for (const target of targets) {
  describe(`modalities in the ledger (${target.driver})`, () => {
    let ledger: LedgerStore;
    beforeAll(async () => {
      ledger = await openLedger(await target.scratch());
    });
    afterAll(async () => {
      await ledger?.close();
      await target.cleanup();
    });

    it('admits audio seconds up to the hour limit, all or nothing, and names the wait', async () => {
      const bucket = { key: 'audio:hourly', ash: 100, asd: 1000 };
      const t0 = 1_000_000_000;
      for (let i = 0; i < 3; i++) {
        expect(
          await tryAcquireAudio(ledger.sql, {
            buckets: [bucket],
            seconds: 30,
            leaseId: `h${i}`,
            now: t0 + i,
          }),
        ).toEqual({ admitted: true });
      }
      // the same lease again is the same admission, not a new one
      expect(
        await tryAcquireAudio(ledger.sql, { buckets: [bucket], seconds: 30, leaseId: 'h0', now: t0 + 5 }),
      ).toEqual({
        admitted: true,
      });
      expect(await audioSecondsUsed(ledger.sql, 'audio:hourly', t0 + 10)).toEqual({ hour: 90, day: 90 });
      const refused = await tryAcquireAudio(ledger.sql, {
        buckets: [bucket],
        seconds: 30,
        leaseId: 'h3',
        now: t0 + 10,
      });
      // room comes back when the first admission (at t0) leaves the hour
      expect(refused).toEqual({ admitted: false, retryAfterMs: HOUR_MS - 10 + 1 });
      expect(
        await tryAcquireAudio(ledger.sql, { buckets: [bucket], seconds: 101, leaseId: 'big', now: t0 + 10 }),
      ).toEqual({
        admitted: false,
        retryAfterMs: null,
      });
      await releaseAudio(ledger.sql, 'h1');
      expect(
        await tryAcquireAudio(ledger.sql, { buckets: [bucket], seconds: 30, leaseId: 'h3', now: t0 + 11 }),
      ).toEqual({
        admitted: true,
      });
      // an hour later the hour is free again, the day is not
      const later = t0 + HOUR_MS + 100;
      expect(await audioSecondsUsed(ledger.sql, 'audio:hourly', later)).toEqual({ hour: 0, day: 90 });
    });

    it('never admits more than the limit under concurrency', async () => {
      const bucket = { key: 'audio:race', ash: 100, asd: 1000 };
      const now = 2_000_000_000;
      const results = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          tryAcquireAudio(ledger.sql, { buckets: [bucket], seconds: 10, leaseId: `r${i}`, now }),
        ),
      );
      expect(results.filter((result) => result.admitted)).toHaveLength(10);
      expect((await audioSecondsUsed(ledger.sql, 'audio:race', now)).hour).toBe(100);
    });

    it('stores an upload by reference and gives back the same bytes', async () => {
      const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 256));
      await putUpload(ledger.sql, {
        id: 'upload_1',
        team: 'voice',
        filename: 'a.wav',
        bytes: bytes.length,
        sealed: bytes,
      });
      const stored = await getUpload(ledger.sql, 'upload_1');
      expect(stored?.sealed.equals(bytes)).toBe(true);
      expect(stored).toMatchObject({ team: 'voice', filename: 'a.wav', bytes: 70_000 });
      await deleteUpload(ledger.sql, 'upload_1');
      expect(await getUpload(ledger.sql, 'upload_1')).toBeNull();
    });

    it('writes usage rows with their unit and totals them per endpoint', async () => {
      const base = {
        period: '2026-12',
        team: 'voice',
        model: 'whisper-large-v3-turbo',
        keyName: 'voice-test-gateway',
        keyVersion: 1,
        promptTokens: 0,
        completionTokens: 0,
        outcome: 'success' as const,
        startedAt: new Date(),
      };
      await recordUnitUsage(
        ledger.sql,
        { ...base, requestId: 'a1', attempt: 1, costNanos: 111_112n },
        {
          endpoint: 'audio.transcriptions',
          unit: 'audio_seconds',
          quantity: 10,
        },
      );
      await recordUnitUsage(
        ledger.sql,
        { ...base, requestId: 'a2', attempt: 1, costNanos: 333_334n },
        {
          endpoint: 'audio.transcriptions',
          unit: 'audio_seconds',
          quantity: 30,
        },
      );
      await recordUnitUsage(
        ledger.sql,
        { ...base, model: 'tts', requestId: 's1', attempt: 1, costNanos: 22_000n },
        { endpoint: 'audio.speech', unit: 'characters', quantity: 1 },
      );
      const rows = await usageByEndpoint(ledger.sql, { period: '2026-12', team: 'voice' });
      expect(rows.map((row) => [row.endpoint, row.unit, row.requests, row.quantity, row.costNanos])).toEqual([
        ['audio.speech', 'characters', 1n, 1n, 22_000n],
        ['audio.transcriptions', 'audio_seconds', 2n, 40n, 444_446n],
      ]);
    });
  });
}
