#!/usr/bin/env node
// The log scan CI runs after the whole test suite: every file under the given folders (default
// test-artifacts/: the suite's console output, saved child-process logs) is searched for key material:
// a whole Groq key (`gsk_` and 52 letters or digits) or a whole gateway key (`ggk_<12>_<40>`).
// Fingerprints (`gsk_…abcd`) do not match. Exits 1 and names file, line and a masked excerpt on a find.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const PATTERNS = [
  { name: 'Groq key', regex: /gsk_[A-Za-z0-9]{40,}/g },
  { name: 'gateway key', regex: /ggk_[A-Za-z0-9]{12}_[A-Za-z0-9]{40}/g },
];

function* files(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return;
  }
  if (stat.isDirectory()) for (const entry of readdirSync(path)) yield* files(join(path, entry));
  else if (stat.isFile()) yield path;
}

const roots = process.argv.slice(2);
const findings = [];
let scanned = 0;
for (const root of roots.length ? roots : ['test-artifacts']) {
  for (const file of files(root)) {
    if (file.endsWith('.png')) continue;
    scanned += 1;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, index) => {
      for (const { name, regex } of PATTERNS) {
        for (const match of line.matchAll(regex)) {
          findings.push(`${file}:${index + 1}: ${name} ${match[0].slice(0, 8)}…${match[0].slice(-4)}`);
        }
      }
    });
  }
}
if (findings.length) {
  console.error(`[scan-logs] key material in ${findings.length} place(s):\n${findings.join('\n')}`);
  process.exit(1);
}
console.log(`[scan-logs] no key material in ${scanned} file(s)`);
