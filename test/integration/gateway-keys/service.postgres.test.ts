/**
 * The gateway key service on PostgreSQL (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres),
 * in a fresh database dropped afterwards. Skipped with a loud banner when no server answers.
 */
import { describe, it } from 'vitest';
import { postgres, postgresOrBanner } from './harness';
import { gatewayKeySuite } from './suite';

const { url, unavailable } = await postgresOrBanner('GATEWAY KEY SUITE');

if (unavailable) {
  describe('gateway keys on postgres', () => {
    it.skip(`SKIPPED: no PostgreSQL at ${new URL(url).host} (${unavailable.message})`, () => undefined);
  });
} else {
  gatewayKeySuite(postgres(url));
}
