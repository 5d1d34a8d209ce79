import { describe, expect, it } from 'vitest';
import { HandoffBoard } from '../../domain/handoff-board';

describe('HandoffBoard', () => {
  it('hands an announced value to the gateway waiting for it, once', async () => {
    const board = new HandoffBoard<string>();
    const waiting = board.expect('req_1', 1000);
    expect(board.waiting).toBe(1);
    board.announce('req_1', 'answer');
    board.announce('req_1', 'again');
    await expect(waiting.value).resolves.toBe('answer');
    expect(board.waiting).toBe(0);
    expect(board.delivered).toBe(1);
  });

  it('drops what nobody waits for, and gives undefined after the timeout or a cancel', async () => {
    const board = new HandoffBoard<string>();
    board.announce('req_nobody', 'lost');
    expect(board.delivered).toBe(0);
    await expect(board.expect('req_2', 5).value).resolves.toBeUndefined();
    const cancelled = board.expect('req_3', 1000);
    cancelled.cancel();
    await expect(cancelled.value).resolves.toBeUndefined();
    expect(board.waiting).toBe(0);
  });

  it("tells a step the waiting gateway's detail only while it waits", async () => {
    const board = new HandoffBoard<string, string>();
    expect(board.detailOf('req_4')).toBeUndefined();
    const waiting = board.expect('req_4', 1000, 'gateway@host:1');
    expect(board.detailOf('req_4')).toBe('gateway@host:1');
    expect(board.detailOf('req_other')).toBeUndefined();
    board.announce('req_4', 'admitted');
    await waiting.value;
    expect(board.detailOf('req_4')).toBeUndefined();
    // a wait without a detail has none, and a timed-out wait forgets its detail
    const plain = board.expect('req_5', 1000);
    expect(board.detailOf('req_5')).toBeUndefined();
    plain.cancel();
    await board.expect('req_6', 5, 'gateway@host:2').value;
    expect(board.detailOf('req_6')).toBeUndefined();
  });
});
