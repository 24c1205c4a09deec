import { expect, test } from 'vitest';
import { planThreads } from '../../src/bench/bench.js';
import type { BenchOptions } from '../../src/bench/options.js';
import { parseSizeList, toBenchOptions, type BenchArgs } from '../../src/cli/commands/bench.js';
import { UsageError } from '../../src/errors.js';

const base: BenchArgs = { target: '127.0.0.1:7000', timeout: 10_000, packet: 4, minTls: '1.2', json: false };

test.each([
  [{}, { connections: 1, sizes: [64], pipeline: 1, durationMs: 10_000, warmupMs: 0, threads: 1 }],
  [
    { connections: 50, size: '1KiB' },
    { connections: 50, sizes: [1024] },
  ],
  [{ size: '64, 1KiB,64KiB' }, { sizes: [64, 1024, 65_536] }],
  [
    { messages: 1000, pipeline: 32 },
    { messages: 1000, pipeline: 32 },
  ],
  [
    { rate: 2500, duration: 30_000 },
    { rate: 2500, durationMs: 30_000 },
  ],
  [
    { handshakes: true, threads: 2 },
    { handshakes: true, threads: 2 },
  ],
  [{ proxyHeader: 'v2' as const }, { target: { host: '127.0.0.1', port: 7000, proxyHeader: 'v2' } }],
])('maps %o to bench options', (args, expected) => {
  expect(toBenchOptions({ ...base, ...args })).toMatchObject(expected);
});

test('names the target as people type it and keeps TLS flags as file names to read', () => {
  const options = toBenchOptions({
    ...base,
    target: '[::1]:7443',
    ca: ['certs/ca.crt'],
    servername: 'api.test',
  });
  expect(options.target).toEqual({ host: '::1', port: 7443, label: '[::1]:7443' });
  expect(options.tlsFlags).toEqual({ minTls: '1.2', caFiles: ['certs/ca.crt'], servername: 'api.test' });
});

test.each([
  [{ connections: 0 }, "invalid --connections '0': expected a whole number of at least 1"],
  [{ pipeline: 1.5 }, "invalid --pipeline '1.5': expected a whole number of at least 1"],
  [{ messages: -3 }, "invalid --messages '-3': expected a whole number of at least 1"],
  [{ rate: 0 }, "invalid --rate '0': expected messages per second above zero"],
  [{ duration: 0 }, '--duration must be longer than zero'],
  [{ size: '64,,1KiB' }, "invalid --size '64,,1KiB': expected sizes separated by commas, e.g. 64,1KiB"],
])('refuses %o with a usage error', (args, message) => {
  expect(() => toBenchOptions({ ...base, ...args })).toThrow(new UsageError(message));
});

test('a size list accepts units', () => {
  expect(parseSizeList('0,1,2KiB')).toEqual([0, 1, 2048]);
});

test('connections, message counts and rates are spread evenly over the threads', () => {
  const options = {
    ...toBenchOptions({ ...base, connections: 5, messages: 12, threads: 2, rate: 1000 }),
    tls: {},
  } as BenchOptions;
  const plans = planThreads(options, 64);
  expect(plans.map((p) => p.connections)).toEqual([3, 2]);
  expect(plans.map((p) => p.quotas)).toEqual([
    [3, 3, 2],
    [2, 2],
  ]);
  expect(plans.map((p) => p.firstConnection)).toEqual([1, 4]);
  expect(plans.every((p) => p.ratePerConnection === 200)).toBe(true);
});

test('never starts more threads than connections', () => {
  const options = { ...toBenchOptions({ ...base, threads: 4 }), tls: {} } as BenchOptions;
  expect(planThreads(options, 64)).toHaveLength(1);
});
