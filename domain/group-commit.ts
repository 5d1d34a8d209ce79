/**
 * Group commit: callers hand in one entry each and get their own answer, while the entries are written
 * together. The first entry is flushed at once; entries that arrive while a flush runs wait for it and
 * then go together in the next one. So a quiet caller pays no delay, and under load one write serves
 * as many entries as arrived during the previous write. `flush` answers one value per entry, in order;
 * when it throws, every entry of that flush gets the error.
 *
 * With `lingerMs`, a group's first entry waits up to that long for others before the flush, unless
 * `ready(queued)` says the group is complete (checked as entries arrive and when `recheck()` is called):
 * for callers that finish one by one but whose answers nobody waits for in between.
 */
export interface GroupCommit<I, O> {
  (entry: I): Promise<O>;
  /** flush a lingering group now if `ready` says so */
  recheck(): void;
}

export interface GroupCommitOptions {
  lingerMs?: number;
  /** whether the `queued` entries waiting are every entry to expect: flush without lingering */
  ready?: (queued: number) => boolean;
}

export function groupCommit<I, O>(
  flush: (entries: I[]) => Promise<O[]>,
  options: GroupCommitOptions = {},
): GroupCommit<I, O> {
  const lingerMs = options.lingerMs ?? 0;
  let queue: { entry: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];
  let flushing = false;
  let lingering: { timer: NodeJS.Timeout; go: () => void } | undefined;
  const run = async (): Promise<void> => {
    flushing = true;
    while (queue.length > 0) {
      if (lingerMs > 0 && !(options.ready?.(queue.length) ?? false)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            clearTimeout(lingering?.timer);
            lingering = undefined;
            resolve();
          };
          lingering = { timer: setTimeout(go, lingerMs), go };
        });
      }
      const batch = queue;
      queue = [];
      try {
        const answers = await flush(batch.map(({ entry }) => entry));
        batch.forEach(({ resolve }, n) => resolve(answers[n]!));
      } catch (error) {
        for (const { reject } of batch) reject(error);
      }
    }
    flushing = false;
  };
  const recheck = () => {
    if (lingering && (options.ready?.(queue.length) ?? false)) lingering.go();
  };
  const commit = (entry: I) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ entry, resolve, reject });
      if (!flushing) void run();
      else recheck();
    });
  return Object.assign(commit, { recheck });
}
