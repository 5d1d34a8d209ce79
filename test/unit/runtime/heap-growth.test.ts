import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HEAP_GROWING_PERCENT,
  heapGrowingPercent,
  limitHeapGrowth,
} from '../../../workers/heap-growth';

const moduleUrl = new URL('../../../workers/heap-growth.ts', import.meta.url).href;

describe('heap growth of worker and gateway processes', () => {
  it('is a factor of 2 unless the environment asks for another percentage', () => {
    expect(DEFAULT_HEAP_GROWING_PERCENT).toBe(100);
    expect(heapGrowingPercent({})).toBe(100);
    expect(heapGrowingPercent({ GOVERNOR_HEAP_GROWING_PERCENT: ' ' })).toBe(100);
    expect(heapGrowingPercent({ GOVERNOR_HEAP_GROWING_PERCENT: '50' })).toBe(50);
    expect(heapGrowingPercent({ GOVERNOR_HEAP_GROWING_PERCENT: '0' })).toBe(0);
  });

  it('names the variable and what it takes when the value is unusable', () => {
    for (const bad of ['abc', '-1', '1.5', '1001', '0x10x'])
      expect(() => heapGrowingPercent({ GOVERNOR_HEAP_GROWING_PERCENT: bad })).toThrow(
        /GOVERNOR_HEAP_GROWING_PERCENT must be a whole number from 0 .* to 1000, got "/,
      );
  });

  it("leaves node's own command-line flag in force", () => {
    expect(limitHeapGrowth({ GOVERNOR_HEAP_GROWING_PERCENT: 'abc' }, ['--heap-growing-percent=30'])).toBe(
      'command line',
    );
    expect(limitHeapGrowth({}, ['--heap-growing-percent', '30'])).toBe('command line');
  });

  it('keeps the heap nearer its live data in the process that calls it', () => {
    // a process of its own (V8's flags are process-wide) that promotes garbage as a loaded gateway does:
    // objects that outlive two young collections, then die in the old generation
    const script = `
      const { limitHeapGrowth } = await import(${JSON.stringify(moduleUrl)});
      const { getHeapSpaceStatistics } = await import('node:v8');
      const set = limitHeapGrowth();
      let peak = 0;
      const live = [];
      for (let i = 0; i < 1500; i++) {
        const batch = [];
        for (let j = 0; j < 3000; j++) batch.push({ i, j, s: 'r' + i + '-' + j });
        live.push(batch);
        if (live.length > 60) live.shift();
        await new Promise((resolve) => setImmediate(resolve));
        const old = getHeapSpaceStatistics().find((space) => space.space_name === 'old_space');
        peak = Math.max(peak, old.space_size);
      }
      console.log(JSON.stringify({ set, peakMb: Math.round(peak / 1048576) }));
    `;
    const run = (percent: string) =>
      JSON.parse(
        execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          env: { ...process.env, GOVERNOR_HEAP_GROWING_PERCENT: percent },
          encoding: 'utf8',
        }).trim(),
      ) as { set: number | string; peakMb: number };
    const factorTwo = run('');
    const v8Own = run('0');
    expect(factorTwo.set).toBe(100);
    expect(v8Own.set).toBe(0);
    // the old generation's peak: 54-55 MB against 88-99 when measured (10-20 MB live in both)
    expect(factorTwo.peakMb).toBeLessThan(v8Own.peakMb * 0.75);
  }, 60_000);
});
