import { describe, expect, it, vi } from 'vitest';
import { MAX_WINDOW, MIN_WINDOW, sizeBatchRun } from '../../domain/batch-sizing';
import { groupCommit } from '../../domain/group-commit';

describe('sizing a realtime batch run', () => {
  it('runs the largest window when no limit binds, in long chunks, with many items per run', () => {
    const sizing = sizeBatchRun({ buckets: [{ rpm: 8_000_000 }], tokensPerItem: 30, latencyMs: 50 });
    expect(sizing).toMatchObject({
      window: MAX_WINDOW,
      chunksInFlight: 4,
      concurrency: 8,
      limitBound: false,
    });
    expect(sizing.chunkSize).toBe(128);
    expect(sizing.itemsPerRun).toBeGreaterThanOrEqual(5000);
  });

  it('sizes the window to the rate the limits allow at the latency, and keeps history small when they bind', () => {
    // the developer plan's 1000 RPM at the batch share (800): 13.3/s, at 50 ms: a window of MIN_WINDOW
    const tight = sizeBatchRun({ buckets: [{ rpm: 800 }], tokensPerItem: 30, latencyMs: 50 });
    expect(tight).toMatchObject({ window: MIN_WINDOW, limitBound: true });
    expect(tight.itemsPerRun * (6 / tight.chunkSize + 4)).toBeLessThanOrEqual(2000);
    // 100 items/s allowed, 200 ms latency: 100 x 0.2 x 1.5 = 30 calls in flight
    const mid = sizeBatchRun({
      buckets: [{ rpm: 6000 }, { tpm: 10_000_000 }],
      tokensPerItem: 30,
      latencyMs: 200,
    });
    expect(mid.window).toBe(30);
    // TPM binds: 60,000 tokens/min of 1,000-token items is 1 item/s
    expect(sizeBatchRun({ buckets: [{ tpm: 60_000 }], tokensPerItem: 1000, latencyMs: 50 }).limitRate).toBe(
      1,
    );
  });

  it('never exceeds a concurrency limit, and a configured window or items per run wins', () => {
    expect(sizeBatchRun({ buckets: [{ concurrency: 6 }], tokensPerItem: 1, latencyMs: 50 }).window).toBe(6);
    const given = sizeBatchRun(
      { buckets: [], tokensPerItem: 1, latencyMs: 50 },
      { window: 8, itemsPerRun: 25 },
    );
    expect(given).toMatchObject({ window: 8, itemsPerRun: 25, page: 25 });
    expect(given.concurrency * given.chunksInFlight).toBeGreaterThanOrEqual(8);
  });
});

describe('group commit', () => {
  it('writes the first entry at once and the entries that arrive meanwhile together, each with its answer', async () => {
    const flushes: number[][] = [];
    let release: () => void = () => undefined;
    const write = groupCommit(async (entries: number[]) => {
      flushes.push(entries);
      if (flushes.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return entries.map((n) => n * 10);
    });
    const first = write(1);
    const rest = [write(2), write(3), write(4)];
    await Promise.resolve();
    release();
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40]);
    expect(flushes).toEqual([[1], [2, 3, 4]]);
  });

  it('gives a failed write to every entry of it, and goes on with the next', async () => {
    let fail = true;
    const write = groupCommit(async (entries: string[]) => {
      if (fail) {
        fail = false;
        throw new Error('down');
      }
      return entries;
    });
    await expect(write('a')).rejects.toThrow('down');
    expect(await write('b')).toBe('b');
  });

  it('with a linger, lets entries that come one by one wait for each other, and flushes as soon as the group is complete', async () => {
    vi.useFakeTimers();
    try {
      const flushes: number[][] = [];
      let expected = 3;
      const write = groupCommit(
        async (entries: number[]) => {
          flushes.push(entries);
          return entries;
        },
        { lingerMs: 200, ready: (queued) => queued >= expected },
      );
      const a = write(1);
      await vi.advanceTimersByTimeAsync(50);
      const b = write(2);
      await vi.advanceTimersByTimeAsync(50);
      expect(flushes).toEqual([]);
      const c = write(3); // the third of three: complete, no more waiting
      await vi.advanceTimersByTimeAsync(0);
      expect(flushes).toEqual([[1, 2, 3]]);
      expect(await Promise.all([a, b, c])).toEqual([1, 2, 3]);

      // a group that does not fill up goes when the linger is over
      const d = write(4);
      await vi.advanceTimersByTimeAsync(199);
      expect(flushes).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(await d).toBe(4);
      expect(flushes[1]).toEqual([4]);

      // one fewer to expect (a caller ended without an entry): recheck lets the group go at once
      expected = 2;
      const e = write(5);
      expected = 1;
      write.recheck();
      await vi.advanceTimersByTimeAsync(0);
      expect(await e).toBe(5);
      expect(flushes[2]).toEqual([5]);
    } finally {
      vi.useRealTimers();
    }
  });
});
