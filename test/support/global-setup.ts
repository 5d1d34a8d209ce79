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
import { failureConverterPath } from '../../workers/codec';
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

interface SharedServers {
  dev: TestWorkflowEnvironment;
  timeSkipping: TestWorkflowEnvironment;
  binaries: { temporal: string; testServer: string };
  workflowBundlePath: string;
  scratch: string;
  users: number;
}

// The workflow and integration projects each run this setup; when both run, they share one set of
// servers (vitest runs every global setup in its main process, so globalThis is common to them).
const SHARED = Symbol.for('groq-governor.test-servers');
type WithShared = typeof globalThis & { [SHARED]?: Promise<SharedServers> };

async function startServers(): Promise<SharedServers> {
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
    bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: quietBundlerLogger }),
  ]);
  const bundleDir = join(scratch, 'bundle');
  mkdirSync(bundleDir, { recursive: true });
  const workflowBundlePath = join(bundleDir, 'workflows.js');
  writeFileSync(workflowBundlePath, bundle.code);
  return {
    dev,
    timeSkipping,
    binaries: { temporal: binaries.temporal, testServer: binaries.testServer },
    workflowBundlePath,
    scratch,
    users: 0,
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const scope = globalThis as WithShared;
  scope[SHARED] ??= startServers();
  const servers = await scope[SHARED];
  servers.users += 1;

  project.provide('temporalDevAddress', servers.dev.address);
  project.provide('temporalTimeSkippingAddress', servers.timeSkipping.address);
  project.provide('temporalBinaries', servers.binaries);
  project.provide('workflowBundlePath', servers.workflowBundlePath);

  return async () => {
    servers.users -= 1;
    if (servers.users > 0) return;
    delete scope[SHARED];
    await Promise.allSettled([servers.dev.teardown(), servers.timeSkipping.teardown()]);
    rmSync(servers.scratch, { recursive: true, force: true });
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
