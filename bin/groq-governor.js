#!/usr/bin/env node
// Entry point of the `groq-governor` CLI: its TypeScript compiled ahead into .build/ (bin/compiled-entry.mjs).
import { importEntry } from './compiled-entry.mjs';

const { main } = await importEntry('client/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
