/** The ledger host's wire-protocol framing (ledger/host/wire.ts). */
import { describe, expect, it } from 'vitest';
import {
  authenticationCleartextPassword,
  lastReadyStatus,
  nextMessage,
  passwordOf,
  PROTOCOL_3,
  simpleQuery,
  startupCode,
  SYNC,
} from '../../../ledger/host/wire';

function typed(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

const ready = (status: string) => typed('Z', Buffer.from(status, 'latin1'));

describe('framing', () => {
  it('splits a startup message, then typed messages, and waits for incomplete ones', () => {
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8, 0);
    startup.writeInt32BE(PROTOCOL_3, 4);
    const first = nextMessage(Buffer.concat([startup, SYNC]), true);
    expect(first).not.toBeNull();
    if (first === null || first === 'malformed') throw new Error('expected a message');
    expect(first.message.type).toBeNull();
    expect(first.size).toBe(8);
    expect(startupCode(first.message.bytes)).toBe(PROTOCOL_3);

    const query = simpleQuery('SELECT 1');
    const whole = nextMessage(Buffer.concat([query, SYNC]), false);
    if (whole === null || whole === 'malformed') throw new Error('expected a message');
    expect(whole.message.type).toBe('Q');
    expect(whole.size).toBe(query.length);
    for (let cut = 0; cut < query.length; cut++)
      expect(nextMessage(query.subarray(0, cut), false)).toBeNull();
  });

  it('refuses impossible lengths', () => {
    const bad = Buffer.from([0x51, 0, 0, 0, 2]);
    expect(nextMessage(bad, false)).toBe('malformed');
    const badStartup = Buffer.alloc(8);
    badStartup.writeInt32BE(4, 0);
    expect(nextMessage(badStartup, true)).toBe('malformed');
  });

  it("reads the last ReadyForQuery's transaction status", () => {
    const rows = typed('D', Buffer.from([0, 1, 0, 0, 0, 1, 0x31]));
    expect(lastReadyStatus(Buffer.concat([rows, ready('T')])).status).toBe('T');
    expect(lastReadyStatus(Buffer.concat([ready('T'), rows, ready('I')])).status).toBe('I');
    expect(lastReadyStatus(Buffer.concat([ready('E')])).status).toBe('E');
    // a ParseComplete alone (mid extended query) carries none
    expect(lastReadyStatus(typed('1', Buffer.alloc(0))).status).toBeNull();
  });

  it('builds the password exchange', () => {
    expect([...authenticationCleartextPassword()]).toEqual([0x52, 0, 0, 0, 8, 0, 0, 0, 3]);
    expect(passwordOf(typed('p', Buffer.from('s3cret\0')))).toBe('s3cret');
  });
});
