import { describe, expect, it } from 'vitest';
import { IN_THREAD_WORKFLOWS, workflowThreadOptions } from '../../../workers/workflow-thread';

describe('where a worker runs its workflows', () => {
  it("runs them in the worker's thread with the SDK's 5 s deadline unless asked otherwise", () => {
    expect(IN_THREAD_WORKFLOWS).toEqual({ debugMode: true, isolateExecutionTimeout: '5 seconds' });
    for (const value of [undefined, '', ' 0 ', 'false', 'FALSE'])
      expect(workflowThreadOptions({ GOVERNOR_WORKFLOW_THREAD: value })).toBe(IN_THREAD_WORKFLOWS);
  });

  it("leaves the SDK's own thread to a worker that asks for it", () => {
    for (const value of ['1', 'true', 'True'])
      expect(workflowThreadOptions({ GOVERNOR_WORKFLOW_THREAD: value })).toEqual({});
  });

  it('names the variable and its values when the value is unusable', () => {
    expect(() => workflowThreadOptions({ GOVERNOR_WORKFLOW_THREAD: 'yes' })).toThrow(
      /GOVERNOR_WORKFLOW_THREAD must be 1 or true .* or 0, false or unset .*, got "yes"/,
    );
  });
});
