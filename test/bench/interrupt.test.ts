import { expect, test } from 'vitest';
import { bench } from '../../src/bench/bench.js';
import { InterruptedError } from '../../src/errors.js';
import { createMemoryIo } from '../helpers/memory-io.js';
import { startRuleServer, testCertificate } from './echo-servers.js';

test('Ctrl-C stops sending, waits for the replies in flight, prints the report so far and exits 130', async () => {
  const io = createMemoryIo();
  const cert = await testCertificate();
  // The server itself presses Ctrl-C once it has seen some traffic: no timing involved.
  const server = await startRuleServer((payload, index) => {
    if (index === 200) io.signals.emit('SIGINT');
    return payload;
  });
  const run = bench(
    {
      target: { host: '127.0.0.1', port: server.port, label: server.target },
      tls: { pin: cert.fingerprint },
      connections: 1,
      sizes: [64, 1024],
      pipeline: 4,
      durationMs: 60_000,
      warmupMs: 0,
      handshakes: false,
      threads: 1,
      packet: 4,
      timeoutMs: 10_000,
      json: false,
    },
    io,
  );
  await expect(run).rejects.toThrow(InterruptedError);
  const report = io.output();
  // The first size was cut short but every reply in flight was checked; the second never ran.
  expect(report).toMatch(/^127\.0\.0\.1:\d+: 64 B messages, .* — ok\n/);
  const [, sent, received] = /messages +(\d+) sent, (\d+) received, 0 mismatched, 0 lost, 0 errors/.exec(
    report,
  )!;
  expect(Number(sent)).toBeGreaterThan(200);
  expect(received).toBe(sent);
  expect(report).not.toContain('1 KiB messages');
  expect(io.errors()).toBe('');
});
