import { describe, expect, it } from 'vitest';
import { applyProcessSettings, processSettingProblems } from '../../../workers/process-settings';
import { workflowStackTraces } from '../../../workers/workflow-stack-traces';

describe("a process's own settings", () => {
  it('has no problem with the defaults or usable values', () => {
    expect(processSettingProblems({})).toEqual([]);
    expect(
      processSettingProblems({
        GOVERNOR_HEAP_GROWING_PERCENT: '0',
        GOVERNOR_WORKFLOW_THREAD: 'true',
        GOVERNOR_WORKFLOW_STACK_TRACES: '1',
      }),
    ).toEqual([]);
  });

  it('names every unusable variable, one message each', () => {
    const problems = processSettingProblems({
      GOVERNOR_HEAP_GROWING_PERCENT: '-5',
      GOVERNOR_WORKFLOW_THREAD: 'maybe',
      GOVERNOR_WORKFLOW_STACK_TRACES: 'on',
    });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^GOVERNOR_HEAP_GROWING_PERCENT must be .*, got "-5"$/);
    expect(problems[1]).toMatch(/^GOVERNOR_WORKFLOW_THREAD must be .*, got "maybe"$/);
    expect(problems[2]).toMatch(
      /^GOVERNOR_WORKFLOW_STACK_TRACES must be 1 or true .* or 0, false or unset .*, got "on"$/,
    );
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

describe('workflow stack traces', () => {
  it('are off unless the variable asks for them', () => {
    for (const value of [undefined, '', '0', 'false', ' FALSE '])
      expect(workflowStackTraces({ GOVERNOR_WORKFLOW_STACK_TRACES: value })).toBe(false);
    for (const value of ['1', 'true', 'True'])
      expect(workflowStackTraces({ GOVERNOR_WORKFLOW_STACK_TRACES: value })).toBe(true);
  });
});
