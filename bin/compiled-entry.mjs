// How the project's entry points run their TypeScript: compiled ahead into `.build/` (one esbuild bundle
// per entry, packages left to node_modules), rebuilt when any of its sources changed, and run as plain
// JavaScript. A process that runs the compiled entry loads no TypeScript loader: tsx's loader keeps a
// thread of its own with a V8 heap, 40-50 MB of RSS in every process (the gateway and worker, the
// ledger host, the egress), and compiles each file on every start. Where esbuild cannot build (or
// GOVERNOR_TSX=1 asks for it), the entry runs through tsx's loader as before.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** bumped when the way entries are built changes, so older builds count as stale */
const BUILD_FORMAT = 2;

/** the folder `entry` (a path inside the project, e.g. `client/cli/main.ts`) is built into */
const folderOf = (entry) =>
  join(root, '.build', relative(root, resolve(root, entry)).replace(/\.[cm]?ts$/, ''));

/** the built entry point of `entry` */
export const compiledPathOf = (entry) => join(folderOf(entry), 'entry.mjs');

const inputsPathOf = (entry) => join(folderOf(entry), 'inputs.json');

/** whether the build of `entry` exists and none of the files it was built from changed since */
export function isFresh(entry) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(inputsPathOf(entry), 'utf8'));
  } catch {
    return false;
  }
  // the build holds the sources' absolute paths: a copy of the project elsewhere builds its own
  if (manifest.format !== BUILD_FORMAT || manifest.root !== root) return false;
  for (const [file, mtimeMs] of Object.entries(manifest.inputs)) {
    try {
      if (statSync(join(root, file)).mtimeMs !== mtimeMs) return false;
    } catch {
      return false;
    }
  }
  return true;
}

// Each module keeps its own import.meta.url (the path of its source file): the sources find their
// neighbours (migrations, config files, the workflows to bundle, child entry points) relative to it.
// JavaScript modules too: scripts/install-temporal.mjs finds `.tools/` from it (before format 2, a
// compiled entry looked for the Temporal binaries under `.build/` and installed them a second time).
const keepImportMetaUrl = {
  name: 'keep-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const url = JSON.stringify(pathToFileURL(args.path).href);
      const loader = /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js';
      return { contents: text.replaceAll('import.meta.url', url), loader };
    });
  },
};

/**
 * Build `entry` into `.build/<entry>/`: `entry.mjs`, its dynamic imports as chunks named by their content
 * (a command's code is loaded only when that command runs), and `inputs.json`, the files it was built from
 * and their times. Built in a folder of its own, then moved into place: the new chunks first, then the
 * entry, then the record, each a rename, so a process starting meanwhile never reads half a build. Chunks
 * of earlier builds stay a week, for processes that started on them and load a chunk later.
 */
export async function buildEntry(entry) {
  const { build, stop } = await import('esbuild');
  const folder = folderOf(entry);
  const scratch = `${folder}.${process.pid}.tmp`;
  try {
    const result = await build({
      absWorkingDir: root,
      entryPoints: { entry: resolve(root, entry) },
      outdir: scratch,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunk-[hash]',
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      plugins: [keepImportMetaUrl],
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = {};
    for (const file of Object.keys(result.metafile.inputs)) inputs[file] = statSync(join(root, file)).mtimeMs;
    writeFileSync(join(scratch, 'inputs.json'), JSON.stringify({ format: BUILD_FORMAT, root, inputs }));
    mkdirSync(folder, { recursive: true });
    const built = readdirSync(scratch);
    const chunks = built.filter((name) => name.startsWith('chunk-'));
    for (const name of chunks) renameSync(join(scratch, name), join(folder, name));
    renameSync(join(scratch, 'entry.mjs'), join(folder, 'entry.mjs'));
    renameSync(join(scratch, 'inputs.json'), join(folder, 'inputs.json'));
    const weekAgo = Date.now() - 7 * 24 * 3_600_000;
    for (const name of readdirSync(folder)) {
      if (!name.startsWith('chunk-') || chunks.includes(name)) continue;
      if (statSync(join(folder, name)).mtimeMs < weekAgo) rmSync(join(folder, name), { force: true });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    // esbuild's service process would otherwise stay beside this one for its whole life
    await stop();
  }
}

/**
 * Make sure `entry` has a build as new as its sources: true when it has (built now if needed), false
 * when esbuild could not build it (why goes to stderr; the entry then runs through tsx).
 */
export async function ensureBuilt(entry) {
  if (isFresh(entry)) return true;
  try {
    await buildEntry(entry);
    return true;
  } catch (error) {
    process.stderr.write(
      `[groq-governor] ${entry} runs through tsx (it could not be built: ${error.message})\n`,
    );
    return false;
  }
}

/**
 * Run `entry` (a TypeScript file, as a path relative to the project) and return its module: the compiled
 * build, made or remade first when needed, or the source through tsx's loader.
 */
export async function importEntry(entry) {
  if (process.env.GOVERNOR_TSX !== '1' && (await ensureBuilt(entry)))
    return import(pathToFileURL(compiledPathOf(entry)).href);
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(resolve(root, entry)).href);
}

/** the entry points every process of a running system starts from (setup builds them ahead) */
export const ENTRIES = ['client/cli/main.ts', 'ledger/host/process.ts', 'workers/egress/process.ts'];

// `node bin/compiled-entry.mjs <file.ts> [args...]` runs that file compiled (the benchmarks start so);
// it sees its own arguments as process.argv.slice(2)
if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  const entry = process.argv[2];
  if (!entry?.endsWith('.ts')) {
    process.stderr.write('usage: node bin/compiled-entry.mjs <file.ts> [args...]\n');
    process.exit(2);
  }
  process.argv.splice(1, 2, resolve(entry));
  await importEntry(relative(root, resolve(entry)));
}
