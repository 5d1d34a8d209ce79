/**
 * The ledger store suite on PGlite through a ledger host: the `pg` driver over the host's socket, the
 * path `up`'s worker and gateway take, with the host's batching and prepared statements in between.
 */
import { ledgerHostTarget } from './harness';
import { storeSuite } from './store-suite';

storeSuite(ledgerHostTarget());
