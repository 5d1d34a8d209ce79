/** The ledger store suite on embedded PGlite (in memory, plus temp data folders for migrations). */
import { pgliteTarget } from './harness';
import { storeSuite } from './store-suite';

storeSuite(pgliteTarget());
