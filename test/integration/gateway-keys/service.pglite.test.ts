/** The gateway key service on PGlite in memory. */
import { gatewayKeySuite } from './suite';
import { pgliteInMemory } from './harness';

gatewayKeySuite(pgliteInMemory());
