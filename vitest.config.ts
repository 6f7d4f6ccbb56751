import { defineConfig } from 'vitest/config';

/**
 * Two projects, split by file name (the test naming convention):
 * - `unit`: `*.unit.test.ts`, which need no stack (no Kafka, registry, PostgreSQL or SMTP). No global
 *   setup, files in parallel on worker threads: `npm run test:unit` runs in seconds.
 * - `integration`: every other `*.test.ts`, against the real stack the global setup finds or starts.
 * `npm test` runs both, unit first.
 */
export default defineConfig({
  test: {
    // The integration project's pool. One broker, one database and two cores: its test files run one at
    // a time, each in a fresh process, so fault tests (killed processes, a stopped database) cannot
    // disturb each other. (Worker limits are global in vitest, hence here and not in the project.)
    poolOptions: { forks: { maxForks: 1, minForks: 1 } },
    teardownTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.unit.test.ts'],
          pool: 'threads',
          sequence: { groupOrder: 0 },
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.unit.test.ts'],
          globalSetup: ['test/setup/global-setup.ts'],
          setupFiles: ['test/setup/stack-env.ts'],
          pool: 'forks',
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
