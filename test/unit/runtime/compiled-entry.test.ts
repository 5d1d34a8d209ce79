/**
 * bin/compiled-entry.mjs: entry points run as JavaScript compiled ahead into .build/, rebuilt when a
 * source changes, with each module's import.meta.url still its source file's, and through tsx when asked.
 * The entry under test is written into test-artifacts/ (inside the project, ignored by git) per run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiledPathOf, isFresh } from '../../../bin/compiled-entry.mjs';

const root = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const dir = join(root, 'test-artifacts', `compiled-entry-${process.pid}`);
const entry = relative(root, join(dir, 'entry.ts'));
const runner = join(root, 'bin', 'compiled-entry.mjs');

interface Report {
  greeting: string;
  args: string[];
  depUrl: string;
  scriptUrl: string;
  frame: string;
  lazy: string;
}

function writeSources(greeting: string) {
  writeFileSync(
    join(dir, 'dep.ts'),
    `export const greeting: string = ${JSON.stringify(greeting)};\nexport const depUrl = import.meta.url;\n`,
  );
  writeFileSync(join(dir, 'lazy.ts'), `export const lazy = 'loaded on demand';\n`);
  // a JavaScript module, as scripts/install-temporal.mjs is
  writeFileSync(join(dir, 'script.mjs'), `export const scriptUrl = import.meta.url;\n`);
  writeFileSync(
    join(dir, 'entry.ts'),
    [
      `import { greeting, depUrl } from './dep';`,
      `import { scriptUrl } from './script.mjs';`,
      `const { lazy } = await import('./lazy');`,
      `const frame = new Error('here').stack?.split('\\n')[1] ?? '';`,
      `process.stdout.write(JSON.stringify({ greeting, args: process.argv.slice(2), depUrl, scriptUrl, frame, lazy }));`,
      '',
    ].join('\n'),
  );
}

function run(env: NodeJS.ProcessEnv = {}): Report {
  const result = spawnSync(process.execPath, [runner, entry, 'one', '--two'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as Report;
}

describe('entry points compiled ahead', () => {
  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
    writeSources('hello');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(root, '.build', relative(root, dir)), { recursive: true, force: true });
  });

  it('builds on first use and runs the build, with its arguments and its modules where their sources are', () => {
    expect(isFresh(entry)).toBe(false);
    const report = run();
    expect(existsSync(compiledPathOf(entry))).toBe(true);
    expect(isFresh(entry)).toBe(true);
    expect(report.greeting).toBe('hello');
    expect(report.args).toEqual(['one', '--two']);
    expect(report.lazy).toBe('loaded on demand');
    // the compiled code runs, yet each module's import.meta.url is its source file
    expect(report.frame).toContain(compiledPathOf(entry));
    expect(fileURLToPath(report.depUrl)).toBe(join(dir, 'dep.ts'));
    expect(fileURLToPath(report.scriptUrl)).toBe(join(dir, 'script.mjs'));
  });

  it('rebuilds when a source it was built from changes', () => {
    run();
    writeSources('changed');
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(dir, 'dep.ts'), later, later);
    expect(isFresh(entry)).toBe(false);
    expect(run().greeting).toBe('changed');
    expect(isFresh(entry)).toBe(true);
  });

  it('runs the sources through tsx when GOVERNOR_TSX=1', () => {
    const report = run({ GOVERNOR_TSX: '1' });
    expect(report.frame).toContain(join(dir, 'entry.ts'));
    expect(report.frame).not.toContain('.build');
  });

  it('lets processes that start together on a stale build all run it', async () => {
    rmSync(join(root, '.build', relative(root, dir)), { recursive: true, force: true });
    const outputs = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<{ code: number | null; out: string; err: string }>((done) => {
            const child = spawn(process.execPath, [runner, entry], { cwd: root });
            let out = '';
            let err = '';
            child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
            child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
            child.on('close', (code) => done({ code, out, err }));
          }),
      ),
    );
    for (const { code, out, err } of outputs) {
      expect(err).toBe('');
      expect(code).toBe(0);
      expect((JSON.parse(out) as Report).greeting).toBe('changed');
    }
    expect(isFresh(entry)).toBe(true);
  });

  it('refuses to run without a TypeScript entry', () => {
    const result = spawnSync(process.execPath, [runner], { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage: node bin/compiled-entry.mjs <file.ts>');
  });
});
