import { configDefaults, defineConfig } from 'vitest/config';

// The hostile tests that assert wall-clock times or memory figures (a server closing a connection within
// 2 s, RSS growing by less than 48 MiB) measure the machine as much as the server: each runs alone, after
// every other test file has finished, so that no other file's processes share the CPU with it.
const TIMED = [
  'test/hostile/abrupt-clients.test.ts',
  'test/hostile/amplifying-replies.test.ts',
  'test/hostile/decoder-fuzz.test.ts',
  'test/hostile/flood.test.ts',
  'test/hostile/frame-limits.test.ts',
  'test/hostile/handshake-slowloris.test.ts',
  'test/hostile/hostile-server.test.ts',
  'test/hostile/not-tls.test.ts',
  'test/hostile/shutdown-under-load.test.ts',
  'test/hostile/slow-reader.test.ts',
  'test/hostile/tls-policy.test.ts',
];

export default defineConfig({
  test: {
    // Network tests open real TLS sockets; a slow CI machine needs more than the default 5 s.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'tests',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...TIMED],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'timed',
          include: TIMED,
          // One file at a time, and only once the group above is done (groups run lowest first).
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
