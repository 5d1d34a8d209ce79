// Entry point of an egress process (spawned by workers/egress/spawn.ts): the project's TypeScript
// sources run through tsx's loader, as in bin/groq-governor.js.
import { register } from 'tsx/esm/api';

register();
await import('./process.ts');
