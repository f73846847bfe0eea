import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Unit tests sit beside their modules; integration suites live in test/.
// One embedded PostgreSQL (or TEST_DATABASE_URL) serves the run; each test file gets its own database.
export default defineConfig({
  resolve: { alias: { '@': fileURLToPath(new URL('.', import.meta.url)) } },
  test: {
    include: ['lib/**/*.test.ts', 'db/**/*.test.ts', 'jobs/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // The SFTP suites deliver to servers on 127.0.0.1, which the outbound policy refuses unless allowed.
    env: { DDE_OUTBOUND_ALLOWED_NETWORKS: '127.0.0.1/32' },
  },
});
