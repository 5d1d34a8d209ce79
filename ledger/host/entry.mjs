// Entry point of a ledger host process (spawned by ledger/host/spawn.ts): the project's TypeScript
// sources run through tsx's loader, as in bin/groq-governor.js. Its path marks the process as a ledger
// host (ledger/data-dir-owner.ts).
import { register } from 'tsx/esm/api';

register();
await import('./process.ts');
