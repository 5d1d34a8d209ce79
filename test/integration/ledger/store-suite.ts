/**
 * The ledger store suite, run unchanged against each driver (store.pglite.test.ts, store.postgres.test.ts).
 * One store (one database) is shared by the behaviour tests, which keep apart by using unique periods,
 * teams, bucket keys and ids; the migration tests make their own databases.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { openLedger } from '../../../ledger/open';
import type { LedgerStore } from '../../../ledger/store';
import type { LedgerTestTarget } from './harness';
import { authorizeFastTests } from './suite-authorize-fast';
import { budgetTests } from './suite-budgets';
import { chunkTests } from './suite-chunks';
import { keyAndAuditTests } from './suite-keys-audit';
import { leaseFinishTests } from './suite-lease-finish';
import { migrationTests } from './suite-migrations';
import { rateLimitTests } from './suite-ratelimit';
import { upstreamCallTests } from './suite-upstream-calls';
import { usageTests } from './suite-usage';

export function storeSuite(target: LedgerTestTarget): void {
  describe(`ledger store on ${target.driver}`, () => {
    let store: LedgerStore | undefined;
    const ledger = (): LedgerStore => {
      if (!store) throw new Error('the ledger did not open');
      return store;
    };

    beforeAll(async () => {
      store = await openLedger(await target.scratch());
    });
    afterAll(async () => {
      await store?.close();
      await target.cleanup();
    });

    migrationTests(target);
    budgetTests(ledger, target);
    usageTests(ledger);
    rateLimitTests(ledger);
    leaseFinishTests(ledger);
    authorizeFastTests(ledger);
    keyAndAuditTests(ledger);
    upstreamCallTests(ledger);
    chunkTests(ledger);
  });
}
