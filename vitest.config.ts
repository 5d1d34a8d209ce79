// Four suites that run separately (`npm run test:unit|test:workflow|test:integration|test:faults`) or
// together. Workflow, integration and fault suites share a global setup that starts the real Temporal
// servers from the project-local binaries and bundles the workflows once.
import { defineConfig } from 'vitest/config';

const slow = { testTimeout: 120_000, hookTimeout: 180_000 };

export default defineConfig({
  test: {
    pool: 'forks',
    reporters: ['default'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000 } },
      {
        test: {
          name: 'workflow',
          include: ['test/workflow/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/setup-runtime.ts'],
          // one time-skipping server is shared: files take turns in one process so skipped hours stay their own
          poolOptions: { forks: { singleFork: true } },
          ...slow,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/setup-runtime.ts'],
          ...slow,
        },
      },
      {
        test: {
          // fault injection (docs/faults.md): scenarios run one after another, each on its own database,
          // namespace and emulator; the table is printed and written to test-artifacts/faults.md at the end
          name: 'faults',
          include: ['test/faults/**/*.fault.test.ts'],
          globalSetup: ['test/support/global-setup.ts', 'test/faults/table-setup.ts'],
          setupFiles: ['test/support/setup-runtime.ts'],
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 300_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
