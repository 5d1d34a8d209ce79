/**
 * The validating step's pass over a stored input file, a page of lines at a time: each line is checked
 * (`checkBatchLine`), its custom_id compared with the page's and with the items stored before it (one
 * statement per page), and the page's good lines stored as pending items (one statement per page). What
 * the batch needs afterwards is summed on the way: the models it uses, its worst case, its problems.
 * Memory holds one page, the problems and the custom_ids of the bad lines, never the whole file.
 */
import {
  batchWorstCase,
  checkBatchLine,
  duplicateCustomId,
  type BatchLine,
  type BatchLineError,
  type BatchRules,
} from '../../domain/batch-lines';
import type { PriceBook } from '../../domain/pricing';
import type { BatchStore } from '../../ledger/batches';

/** Lines per page, and the characters of line text after which a page is stored sooner. */
export const VALIDATE_PAGE_LINES = 1000;
export const VALIDATE_PAGE_CHARS = 4 * 1024 * 1024;

export interface StoredLines {
  /** items stored (good lines), numbered 0..total-1 in file order */
  total: number;
  /** every problem, in line order */
  errors: BatchLineError[];
  models: Set<string>;
  /** the worst case of every stored item */
  worstNanos: bigint;
  /** pages stored by this attempt */
  pages: number;
  /** the line this attempt started from (above 1: it resumed an attempt that was cut off) */
  resumedAt: number;
}

/** A line whose custom_id is valid: a good line, or a bad one that still claims its custom_id. */
type Claim = { customId: string; good: BatchLine } | { customId: string; error: BatchLineError };

/**
 * Checks and stores the lines of a batch's input file. Each page is stored with the progress after it
 * (`storeItemPage`), so when an earlier attempt stored pages (it was cut off), this one goes on from
 * the line after its last page with what it had found; otherwise it starts from an empty batch.
 */
export async function storeValidLines(
  store: BatchStore,
  batchId: string,
  lines: AsyncIterable<{ line: number; text: string }>,
  rules: BatchRules & { pricing: PriceBook; batchPrice: boolean },
  page: { lines: number; chars: number } = { lines: VALIDATE_PAGE_LINES, chars: VALIDATE_PAGE_CHARS },
): Promise<StoredLines> {
  const earlier = await store.validationProgress(batchId);
  if (!earlier) await store.clearItems(batchId);
  const result: StoredLines = {
    total: earlier?.total ?? 0,
    errors: earlier?.errors ?? [],
    models: earlier?.models ?? new Set(),
    worstNanos: earlier?.worstNanos ?? 0n,
    pages: 0,
    resumedAt: earlier?.nextLine ?? 1,
  };
  const badIds = earlier?.badIds ?? new Set<string>();
  let claims: Claim[] = [];
  let pageChars = 0;

  /** stores the claims so far; `lastLine`: the last line read */
  const storePage = async (lastLine: number) => {
    const stored = claims;
    claims = [];
    pageChars = 0;
    const taken = await store.takenCustomIds(
      batchId,
      stored.map((claim) => claim.customId),
      result.total,
    );
    const seen = new Set<string>();
    const good: BatchLine[] = [];
    for (const claim of stored) {
      const line = 'good' in claim ? claim.good.line : claim.error.line;
      if (taken.has(claim.customId) || seen.has(claim.customId) || badIds.has(claim.customId)) {
        result.errors.push(duplicateCustomId(line, claim.customId));
        continue;
      }
      seen.add(claim.customId);
      if ('error' in claim) {
        badIds.add(claim.customId);
        result.errors.push(claim.error);
      } else good.push(claim.good);
    }
    const firstSeq = result.total;
    result.total += good.length;
    result.pages++;
    for (const line of good) result.models.add(line.model);
    result.worstNanos += batchWorstCase(rules.pricing, good, { batch: rules.batchPrice });
    await store.storeItemPage(
      batchId,
      firstSeq,
      good.map((line) => ({ line: line.line, customId: line.customId, body: line.body })),
      { ...result, nextLine: lastLine + 1, badIds },
    );
  };

  let last = 0;
  for await (const { line, text } of lines) {
    last = line;
    if (line < result.resumedAt) continue;
    const checked = checkBatchLine(text, line, rules);
    if (checked.kind === 'blank') continue;
    if (checked.kind === 'line') claims.push({ customId: checked.line.customId, good: checked.line });
    else if (checked.customId !== undefined)
      claims.push({ customId: checked.customId, error: checked.error });
    else result.errors.push(checked.error);
    pageChars += text.length;
    if (claims.length >= page.lines || pageChars >= page.chars) await storePage(line);
  }
  if (claims.length > 0) await storePage(last);
  // duplicates are found when their page is stored, after the page's other problems: back to line order
  result.errors.sort((a, b) => a.line - b.line);
  return result;
}
