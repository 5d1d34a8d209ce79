// bench:batch's comparison of the ledger with the emulator's bill, on a real in-memory PGlite ledger:
// equal when every billed call has one success row of its cost, and every kind of mismatch named.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BilledCall } from '../../../emulator';
import { openLedger, type LedgerStore } from '../../../ledger';
import { compareLedgerWithBill } from '../../../bench/batch-bill';

function call(id: string, cost: number): BilledCall {
  return {
    request_id: id,
    key_name: 'k',
    model: 'm',
    prompt_tokens: 1,
    completion_tokens: 1,
    cached_tokens: 0,
    total_tokens: 2,
    cost_nanos: String(cost),
    batch: false,
    stream: false,
    cut: false,
    at: 0,
  };
}

describe('compareLedgerWithBill', () => {
  let ledger: LedgerStore;
  beforeAll(async () => {
    ledger = await openLedger({ inMemory: true });
  }, 120_000);
  afterAll(async () => {
    await ledger?.close();
  });
  beforeEach(async () => {
    await ledger.sql.query('DELETE FROM usage_records');
  });

  async function row(
    request: string,
    attempt: number,
    upstream: string | null,
    cost: number,
    outcome = 'success',
  ) {
    await ledger.sql.query(
      `INSERT INTO usage_records (request_id, attempt, period, model, key_name, key_version, prompt_tokens,
                                  completion_tokens, cost_nanos, outcome, started_at, upstream_request_id)
       VALUES ($1, $2, '2026-12', 'm', 'k', 1, 1, 1, $3, $4, now(), $5)`,
      [request, attempt, cost, outcome, upstream],
    );
  }

  it('finds the ledger equal to the bill across pages', async () => {
    const billed = [];
    for (let i = 0; i < 5; i++) {
      await row(`req_${i}`, 1, `up_${i}`, 100 + i);
      billed.push(call(`up_${i}`, 100 + i));
    }
    await row('req_9', 1, 'up_lost', 7, 'error'); // not a success: not compared
    const result = await compareLedgerWithBill(ledger.sql, billed, 2);
    expect(result).toMatchObject({ billedCalls: 5, successRows: 5, mismatches: 0, problems: [] });
    expect(result.billedNanos).toBe(510n);
    expect(result.bookedNanos).toBe(510n);
  });

  it('names a wrong cost, an unbilled call, a call booked twice, a request with two successes and a call never booked', async () => {
    await row('req_a', 1, 'up_a', 100); // billed 101
    await row('req_b', 1, 'up_ghost', 5); // never billed
    await row('req_c', 1, 'up_c', 10);
    await row('req_d', 1, 'up_c', 10); // the same upstream call booked again
    await row('req_e', 1, 'up_e1', 20);
    await row('req_e', 2, 'up_e2', 20); // two successes for one gateway request
    const billed = [
      call('up_a', 101),
      call('up_c', 10),
      call('up_e1', 20),
      call('up_e2', 20),
      call('up_x', 3),
    ];
    const result = await compareLedgerWithBill(ledger.sql, billed, 2);
    expect(result.mismatches).toBe(5);
    expect(result.problems.join('\n')).toMatch(/up_a: booked 100 nanos, billed 101/);
    expect(result.problems.join('\n')).toMatch(/names up_ghost, which was never billed/);
    expect(result.problems.join('\n')).toMatch(/upstream call up_c has two success rows/);
    expect(result.problems.join('\n')).toMatch(/gateway request req_e has two success rows/);
    expect(result.problems.join('\n')).toMatch(/1 billed call\(s\) without a success row/);
  });
});
