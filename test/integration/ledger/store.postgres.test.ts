/**
 * The ledger store suite on a PostgreSQL server (TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres), in a fresh gg_test_<random> database dropped afterwards.
 * When no server answers, the suite is skipped with a loud banner, never silently.
 */
import { describe, it } from 'vitest';
import { postgresTarget, probePostgres, testDatabaseUrl, warnPostgresSkipped } from './harness';
import { storeSuite } from './store-suite';

const url = testDatabaseUrl();
const unavailable = await probePostgres(url);

if (unavailable) {
  warnPostgresSkipped(url, unavailable);
  describe('ledger store on postgres', () => {
    it.skip(`SKIPPED: no PostgreSQL at ${new URL(url).host} (${unavailable.message})`, () => undefined);
  });
} else {
  storeSuite(postgresTarget(url));
}
