// Replays every recorded history against today's workflow code: a change that would break a running
// workflow (non-determinism) fails here. Record new histories with test/support/record-histories.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../support/temporal';
import { installRuntime } from '../../workers/runtime';

const dir = new URL('../fixtures/histories/', import.meta.url);
const files = readdirSync(dir).filter((name) => name.endsWith('.json'));

describe('replay of recorded histories', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it.each(files)('%s replays without non-determinism', async (file) => {
    installRuntime('ERROR');
    const history: unknown = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
    await expect(
      Worker.runReplayHistory({ workflowBundle: workflowBundle() }, history, file.replace(/\.json$/, '')),
    ).resolves.toBeUndefined();
  });
});
