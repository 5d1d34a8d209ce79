import { describe, expect, it } from 'vitest';
import { applyProcessSettings, processSettingProblems } from '../../../workers/process-settings';

describe("a process's own settings", () => {
  it('has no problem with the defaults or usable values', () => {
    expect(processSettingProblems({})).toEqual([]);
    expect(
      processSettingProblems({ GOVERNOR_HEAP_GROWING_PERCENT: '0', GOVERNOR_WORKFLOW_THREAD: 'true' }),
    ).toEqual([]);
  });

  it('names every unusable variable, one message each', () => {
    const problems = processSettingProblems({
      GOVERNOR_HEAP_GROWING_PERCENT: '-5',
      GOVERNOR_WORKFLOW_THREAD: 'maybe',
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^GOVERNOR_HEAP_GROWING_PERCENT must be .*, got "-5"$/);
    expect(problems[1]).toMatch(/^GOVERNOR_WORKFLOW_THREAD must be .*, got "maybe"$/);
  });

  it('applies nothing when a setting is unusable, and says which', () => {
    expect(() => applyProcessSettings({ GOVERNOR_WORKFLOW_THREAD: 'maybe' }, [])).toThrow(
      /^GOVERNOR_WORKFLOW_THREAD must be/,
    );
    // node's own flag wins for the heap, but a bad variable is still refused
    expect(() =>
      applyProcessSettings({ GOVERNOR_HEAP_GROWING_PERCENT: 'x' }, ['--heap-growing-percent=30']),
    ).toThrow(/GOVERNOR_HEAP_GROWING_PERCENT/);
    expect(() => applyProcessSettings({}, ['--heap-growing-percent=30'])).not.toThrow();
  });
});
