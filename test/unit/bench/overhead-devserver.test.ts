// The dev server's counters as `bench:overhead` reads them from its Prometheus text.
import { describe, expect, it } from 'vitest';
import { devServerRunFigures, parseDevServerMetrics } from '../../../bench/overhead-devserver';

const text = (lockSum: number, lockCount: number, starts: number, metadataReads = 0) =>
  [
    '# HELP semaphore_latency semaphore_latency histogram',
    'semaphore_latency_bucket{operation="ShardInfo",service_name="history",le="0.001"} 3',
    `semaphore_latency_sum{operation="ShardInfo",service_name="history"} ${lockSum}`,
    `semaphore_latency_count{operation="ShardInfo",service_name="history"} ${lockCount}`,
    'semaphore_latency_sum{operation="Other",service_name="history"} 99',
    'semaphore_latency_count{operation="Other",service_name="history"} 99',
    `visibility_persistence_latency_count{namespace="default",operation="RecordWorkflowExecutionStarted",visibility_type="standard"} ${starts - 1}`,
    'visibility_persistence_latency_count{namespace="other",operation="RecordWorkflowExecutionStarted",visibility_type="standard"} 1',
    'visibility_persistence_latency_count{namespace="default",operation="RecordWorkflowExecutionClosed",visibility_type="standard"} 50',
    `persistence_requests{operation="GetCurrentClusterMetadata",service_name="history"} ${metadataReads - 2}`,
    'persistence_requests{operation="GetCurrentClusterMetadata",service_name="frontend"} 2',
    'persistence_requests{operation="GetWorkflowExecution",service_name="history"} 40',
  ].join('\n');

describe("the dev server's counters", () => {
  it('sums the shard lock, the start visibility writes and the metadata reads over their label sets, nothing else', () => {
    expect(parseDevServerMetrics(text(1.5, 10, 7, 12))).toEqual({
      shardLockWaitSeconds: 1.5,
      shardLockWaits: 10,
      visibilityStartWrites: 7,
      metadataReads: 12,
    });
    expect(parseDevServerMetrics('')).toEqual({
      shardLockWaitSeconds: 0,
      shardLockWaits: 0,
      visibilityStartWrites: 0,
      metadataReads: 0,
    });
  });

  it('gives a run the mean lock wait and the writes per completed workflow from the differences', () => {
    const before = parseDevServerMetrics(text(1.5, 10, 7, 12));
    const after = parseDevServerMetrics(text(31.5, 110, 87, 362));
    expect(devServerRunFigures(before, after, 100)).toEqual({
      shardLockWaitMs: 300,
      visibilityStartWritesPerWorkflow: 0.8,
      metadataReadsPerWorkflow: 3.5,
    });
    expect(devServerRunFigures(null, after, 100)).toBeNull();
  });
});
