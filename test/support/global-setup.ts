/**
 * Global setup of the workflow and integration suites: starts the real Temporal dev server and the
 * time-skipping test server from the project-local binaries (never a download), bundles the workflows
 * once, hands their addresses and the bundle's path to the test files, and tears everything down.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { ensureTemporal } from '../../scripts/install-temporal.mjs';
import { installRuntime } from '../../workers/runtime';
import { workflowsPath } from '../../workers/worker';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalDevAddress: string;
    temporalTimeSkippingAddress: string;
    temporalBinaries: { temporal: string; testServer: string };
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  installRuntime('ERROR');
  const binaries = ensureTemporal({ quiet: true });
  const scratch = mkdtempSync(join(tmpdir(), 'gg-temporal-'));
  const [dev, timeSkipping, bundle] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: binaries.temporal },
        ip: '127.0.0.1',
        ui: false,
        dbFilename: join(scratch, 'dev.sqlite'),
        log: { format: 'pretty', level: 'error' },
      },
    }),
    TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: binaries.testServer } },
    }),
    bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger }),
  ]);
  const bundleDir = join(scratch, 'bundle');
  mkdirSync(bundleDir, { recursive: true });
  const workflowBundlePath = join(bundleDir, 'workflows.js');
  writeFileSync(workflowBundlePath, bundle.code);

  project.provide('temporalDevAddress', dev.address);
  project.provide('temporalTimeSkippingAddress', timeSkipping.address);
  project.provide('temporalBinaries', { temporal: binaries.temporal, testServer: binaries.testServer });
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    await Promise.allSettled([dev.teardown(), timeSkipping.teardown()]);
    rmSync(scratch, { recursive: true, force: true });
  };
}

const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: Record<string, unknown>) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta ?? ''),
  log: () => undefined,
};
