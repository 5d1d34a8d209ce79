/**
 * Group commit: callers hand in one entry each and get their own answer, while the entries are written
 * together. The first entry is flushed at once; entries that arrive while a flush runs wait for it and
 * then go together in the next one. So a quiet caller pays no delay, and under load one write serves
 * as many entries as arrived during the previous write. `flush` answers one value per entry, in order;
 * when it throws, every entry of that flush gets the error.
 */
export function groupCommit<I, O>(flush: (entries: I[]) => Promise<O[]>): (entry: I) => Promise<O> {
  let queue: { entry: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];
  let flushing = false;
  const run = async (): Promise<void> => {
    flushing = true;
    while (queue.length > 0) {
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
  return (entry) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ entry, resolve, reject });
      if (!flushing) void run();
    });
}
