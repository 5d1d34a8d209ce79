// The bundle a production worker builds (in a child process) holds every workflow and the failure
// converter that encodes failure messages, so failures raised inside workflows stay encrypted too.
import { describe, expect, it } from 'vitest';
import { bundleWorkflowsApart } from '../../../workers/worker';

describe('the production workflow bundle', () => {
  it('carries the workflows and the encoding failure converter', async () => {
    const { code } = await bundleWorkflowsApart();
    for (const workflow of [
      'selfCheck',
      'governedCompletion',
      'governedCompletionV2',
      'batchJob',
      'keyRotation',
      'weeklyReport',
      'floorEcho',
      'floorWait',
    ])
      expect(code).toContain(`function ${workflow}(`);
    expect(code).toContain('failure-converter.cjs');
    expect(code).toContain('encodeCommonAttributes: true');
  });
});
