// Which failures the gateway answers with 503 + retry-after (a dependency out of reach) rather than 500.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isDependencyUnavailable } from '../../client/gateway/unavailable';

describe('isDependencyUnavailable', () => {
  it('a refused PostgreSQL connection is unavailable', async () => {
    // port 1 on loopback: nothing listens there
    const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres' });
    const error = await client.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(isDependencyUnavailable(error)).toBe(true);
  });

  it('connection errors found in the cause chain, gRPC UNAVAILABLE and PostgreSQL class 08 are unavailable', () => {
    expect(isDependencyUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(
      isDependencyUnavailable(
        new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }),
      ),
    ).toBe(true);
    expect(
      isDependencyUnavailable(
        Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }),
      ),
    ).toBe(true);
    expect(isDependencyUnavailable(Object.assign(new Error('admin shutdown'), { code: '57P01' }))).toBe(true);
    expect(isDependencyUnavailable(Object.assign(new Error('conn'), { code: '08006' }))).toBe(true);
  });

  it('bugs and other database errors are not', () => {
    expect(isDependencyUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(
      false,
    );
    expect(isDependencyUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isDependencyUnavailable(Object.assign(new Error('not found'), { code: 5 }))).toBe(false);
    expect(isDependencyUnavailable(undefined)).toBe(false);
  });
});
