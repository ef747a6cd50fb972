import { defineConfig } from 'vitest/config';

/** Browser tests: a real lyt server and the machine's Chromium, one file at a time. */
export default defineConfig({
  test: {
    include: ['browser/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
