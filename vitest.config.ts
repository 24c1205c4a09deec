import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Network tests open real TLS sockets; a slow CI machine needs more than the default 5 s.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
