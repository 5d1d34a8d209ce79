// Entry point of an egress process (spawned by workers/egress/spawn.ts): the project's TypeScript
// compiled ahead, as in bin/groq-governor.js.
import { importEntry } from '../../bin/compiled-entry.mjs';

await importEntry('workers/egress/process.ts');
