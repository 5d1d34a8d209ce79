/**
 * The dev server's own view of a sustained run, from its Prometheus `/metrics`: how long requests waited
 * for the lock of its one history shard (every workflow start and workflow task completion takes it for
 * its SQLite write), how many visibility records of a workflow's start it wrote (a workflow still
 * running when that visibility task comes up costs one; one that has completed does not) and how often
 * it read the cluster's metadata from SQLite (every call, when the search attributes' cache is off: round
 * 14). Read before and after each run; the figures are the differences.
 */

/** the counters read, summed over their label sets */
export interface DevServerCounters {
  shardLockWaitSeconds: number;
  shardLockWaits: number;
  visibilityStartWrites: number;
  metadataReads: number;
}

const SHARD_LOCK = /^semaphore_latency_(sum|count)\{[^}]*operation="ShardInfo"[^}]*\} ([0-9.eE+-]+)$/;
const METADATA_READS =
  /^persistence_requests\{[^}]*operation="GetCurrentClusterMetadata"[^}]*\} ([0-9.eE+-]+)$/;
const VISIBILITY_START =
  /^visibility_persistence_latency_count\{[^}]*operation="RecordWorkflowExecutionStarted"[^}]*\} ([0-9.eE+-]+)$/;

export function parseDevServerMetrics(text: string): DevServerCounters {
  const counters: DevServerCounters = {
    shardLockWaitSeconds: 0,
    shardLockWaits: 0,
    visibilityStartWrites: 0,
    metadataReads: 0,
  };
  for (const line of text.split('\n')) {
    const lock = SHARD_LOCK.exec(line);
    if (lock) {
      if (lock[1] === 'sum') counters.shardLockWaitSeconds += Number(lock[2]);
      else counters.shardLockWaits += Number(lock[2]);
      continue;
    }
    const start = VISIBILITY_START.exec(line);
    if (start) {
      counters.visibilityStartWrites += Number(start[1]);
      continue;
    }
    const metadata = METADATA_READS.exec(line);
    if (metadata) counters.metadataReads += Number(metadata[1]);
  }
  return counters;
}

/** The counters now, or null when the endpoint does not answer (a server the benchmark did not start). */
export async function readDevServerCounters(port: number): Promise<DevServerCounters | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return null;
    return parseDevServerMetrics(await response.text());
  } catch {
    return null;
  }
}

export interface DevServerRunFigures {
  /** mean wait for the shard's lock during the run (ms) */
  shardLockWaitMs: number;
  /** visibility records of a workflow's start written per completed workflow */
  visibilityStartWritesPerWorkflow: number;
  /** reads of the cluster's metadata per completed workflow */
  metadataReadsPerWorkflow: number;
}

export function devServerRunFigures(
  before: DevServerCounters | null,
  after: DevServerCounters | null,
  completed: number,
): DevServerRunFigures | null {
  if (!before || !after) return null;
  const waits = after.shardLockWaits - before.shardLockWaits;
  return {
    shardLockWaitMs:
      waits > 0 ? ((after.shardLockWaitSeconds - before.shardLockWaitSeconds) / waits) * 1000 : Number.NaN,
    visibilityStartWritesPerWorkflow:
      completed > 0 ? (after.visibilityStartWrites - before.visibilityStartWrites) / completed : Number.NaN,
    metadataReadsPerWorkflow:
      completed > 0 ? (after.metadataReads - before.metadataReads) / completed : Number.NaN,
  };
}
