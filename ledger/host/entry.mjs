// Entry point of a ledger host process (spawned by ledger/host/spawn.ts): the project's TypeScript
// compiled ahead, as in bin/groq-governor.js. Its path marks the process as a ledger host
// (ledger/data-dir-owner.ts).
import { importEntry } from '../../bin/compiled-entry.mjs';

await importEntry('ledger/host/process.ts');
