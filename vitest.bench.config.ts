import { defineConfig } from 'vitest/config';

/** Measurements that run vitest tests on purpose-built data (npm run bench:swap); never part of npm test. */
export default defineConfig({
  test: {
    include: ['bench/**/*.bench-test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
