/**
 * A chunk of a realtime batch's items in one activity: one round trip through Temporal (and a handful of
 * history events) for several items instead of one each. Every item runs exactly as on its own
 * (`runItem`: its own reservation, admission, claim and booking, idempotent through its item row), all
 * of them at once; the results come back in the order of `seqs`. When an item fails, the chunk waits
 * for the others and then fails, so a retry of the chunk starts with nothing of it still running here:
 * the items that finished answer from the ledger, the others continue their attempts.
 */
import type { ChunkInput, ItemInput, ItemResult } from './types';

export async function runChunk(
  runOne: (input: ItemInput) => Promise<ItemResult>,
  input: ChunkInput,
): Promise<ItemResult[]> {
  const { seqs, ...common } = input;
  const settled = await Promise.allSettled(seqs.map((seq) => runOne({ ...common, seq })));
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<ItemResult>).value);
}
