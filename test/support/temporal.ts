/**
 * What a workflow or integration test file uses to reach the servers the global setup started: a
 * client-and-worker environment on the dev server or on the time-skipping server, and the bundle.
 */
import { readFileSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { inject } from 'vitest';
import { installRuntime } from '../../workers/runtime';

let bundle: { code: string } | undefined;

/** The workflows, bundled once by the global setup. */
export function workflowBundle(): { code: string } {
  bundle ??= { code: readFileSync(inject('workflowBundlePath'), 'utf8') };
  return bundle;
}

/** The shared dev server (a real Temporal server with SQLite). */
export async function devServerEnv(): Promise<TestWorkflowEnvironment> {
  installRuntime('ERROR');
  return TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalDevAddress') });
}

type EnvFactory = { create(options: Record<string, unknown>): Promise<TestWorkflowEnvironment> };

/**
 * The shared time-skipping server. The SDK only offers time skipping on a server it starts itself, so
 * this attaches through the same factory those helpers use, with time skipping switched on.
 */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installRuntime('ERROR');
  return (TestWorkflowEnvironment as unknown as EnvFactory).create({
    server: { type: 'existing' },
    address: inject('temporalTimeSkippingAddress'),
    namespace: 'default',
    supportsTimeSkipping: true,
  });
}

/**
 * A time-skipping test server of the caller's own (its clock starts at now, nothing else runs on it):
 * for files whose tests skip days each, so no test inherits the time and leftovers of the ones before.
 */
export async function ownTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installRuntime('ERROR');
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('temporalBinaries').testServer } },
  });
}

/** A task queue of its own for each test, so parallel files never take each other's tasks. */
export function uniqueTaskQueue(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}
