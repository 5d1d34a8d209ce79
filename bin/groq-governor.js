#!/usr/bin/env node
// Entry point of the `groq-governor` CLI. The project runs its TypeScript sources through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../client/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
