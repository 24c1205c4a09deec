import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import type { BenchReport } from '../../src/bench/bench.js';
import { createServer as createTlsechoServer, type ServerOptions } from '../../src/server/server.js';
import { runCli, type CliResult } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { startRuleServer, testCertificate, type ReplyRule } from './echo-servers.js';

// `tlsecho bench` as users run it: a child process over real TLS on loopback, with verification on.
// No assertion here depends on timing; only counts, report contents and exit codes.

const echo = (payload: Buffer) => payload;

async function pin(): Promise<string> {
  return (await testCertificate()).fingerprint;
}

/** tlsecho's own server on loopback, with the shared test certificate; closed when the test ends. */
async function startTlsecho(
  options: Partial<ServerOptions> = {},
): Promise<{ target: string; fingerprint: string }> {
  const cert = await testCertificate();
  const server = createTlsechoServer({
    host: '127.0.0.1',
    port: 0,
    cert: cert.certPem,
    key: cert.keyPem,
    ...options,
  });
  const { port } = await server.listen();
  onTestFinished(() => server.close(0));
  return { target: `127.0.0.1:${port}`, fingerprint: cert.fingerprint };
}

function parseReport(stdout: string): BenchReport {
  return JSON.parse(stdout) as BenchReport;
}

/** A `--json` run that passed: nothing on stderr, exit 0, and every one of `sent` replies right. */
function expectEveryReplyRight(r: CliResult, sent: number) {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const [result] = parseReport(r.stdout).results;
  expect(result!.messages).toEqual({ sent, received: sent, mismatched: 0, lost: 0, errors: 0 });
  return result!;
}

describe('against a correct echo server', () => {
  test("drives tlsecho's own server and finds every reply right, exit 0", async () => {
    const { target, fingerprint } = await startTlsecho();
    const r = await runCli([
      'bench',
      target,
      '--pin',
      fingerprint,
      '-n',
      '500',
      '-c',
      '5',
      '--pipeline',
      '8',
      '-s',
      '2KiB',
      '--json',
    ]);
    const result = expectEveryReplyRight(r, 500);
    expect(result).toMatchObject({ ok: true, size: 2048, connections: 5, pipeline: 8 });
  });

  test.each([
    ['line', '100'],
    ['2', '40KiB'],
  ])('--packet %s, size %s: every reply checked against a server of that framing', async (packet, size) => {
    const { target, fingerprint } = await startTlsecho({ packet: packet === 'line' ? 'line' : 2 });
    const r = await runCli([
      'bench',
      target,
      '--pin',
      fingerprint,
      '--packet',
      packet,
      '-s',
      size,
      '--pipeline',
      '8',
      '-n',
      '300',
      '--json',
    ]);
    expectEveryReplyRight(r, 300);
  });

  test.each(['v1', 'v2'])(
    '--proxy-header %s loads a server that requires the PROXY protocol, handshakes included',
    async (version) => {
      const { target, fingerprint } = await startTlsecho({ proxyProtocol: true });
      const common = ['bench', target, '--pin', fingerprint, '--json'];
      const messages = await runCli([...common, '-n', '200', '-c', '2', '--proxy-header', version]);
      expect(messages.stderr).toBe('');
      expect(messages.code).toBe(0);
      expect(parseReport(messages.stdout).results[0]!.messages).toMatchObject({
        received: 200,
        mismatched: 0,
      });
      const handshakes = await runCli([...common, '-n', '20', '--handshakes', '--proxy-header', version]);
      expect(handshakes.code).toBe(0);
      expect(parseReport(handshakes.stdout).results[0]!.handshakes.count).toBe(20);
      // Without the header the server refuses the connection, and the run says so instead of hanging.
      const refused = await runCli([...common, '-n', '10', '--timeout', '3s']);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/127\.0\.0\.1:\d+/);
    },
  );

  test('checks every reply and reports counts, throughput and latency as JSON, exit 0', async () => {
    const server = await startRuleServer(echo);
    const r = await runCli([
      'bench',
      server.target,
      '--pin',
      await pin(),
      '--messages',
      '300',
      '-c',
      '3',
      '--pipeline',
      '4',
      '--size',
      '100',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = parseReport(r.stdout);
    expect(report.ok).toBe(true);
    expect(report.results).toHaveLength(1);
    const [result] = report.results;
    expect(result).toMatchObject({
      ok: true,
      size: 100,
      connections: 3,
      pipeline: 4,
      messages: { sent: 300, received: 300, mismatched: 0, lost: 0, errors: 0 },
      handshakes: { count: 3 },
      errors: [],
      firstMismatch: null,
    });
    expect(result!.latencyUs.count).toBe(300);
    expect(result!.latencyUs.p50).toBeGreaterThan(0);
    expect(result!.latencyUs.max).toBeGreaterThanOrEqual(result!.latencyUs.p99);
    expect(result!.throughput.messagesPerSecond).toBeGreaterThan(0);
    // 300 frames of 4 + 100 bytes each way.
    expect(result!.throughput.mbPerSecondOut).toBeCloseTo(result!.throughput.mbPerSecondIn, 6);
  });

  test('prints a readable report for each size of a list, trusting the server through --ca', async () => {
    const server = await startRuleServer(echo);
    const dir = await makeTempDir();
    const caFile = join(dir, 'server.crt');
    await writeFile(caFile, (await testCertificate()).certPem);
    const r = await runCli([
      'bench',
      server.target,
      '--ca',
      caFile,
      '-n',
      '40',
      '-s',
      '1,64KiB',
      '--pipeline',
      '2',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const headers = r.stdout.split('\n').filter((line) => line.startsWith(server.target));
    expect(headers).toHaveLength(2);
    expect(headers[0]).toContain('1 B messages, packet 4, 1 connection, pipeline 2');
    expect(headers[1]).toContain('64 KiB messages');
    expect(headers.every((line) => line.endsWith('— ok'))).toBe(true);
    expect(r.stdout.match(/40 sent, 40 received, 0 mismatched, 0 lost, 0 errors/g)).toHaveLength(2);
    expect(r.stdout).toMatch(/latency +p50 \S+ +p90 \S+ +p99 \S+ +p99\.9 \S+ +max \S+/);
  });

  test('spreads connections over worker threads and adds up their results', async () => {
    const server = await startRuleServer(echo);
    const r = await runCli([
      'bench',
      server.target,
      '--pin',
      await pin(),
      '-n',
      '200',
      '-c',
      '4',
      '--threads',
      '2',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [result] = parseReport(r.stdout).results;
    expect(result).toMatchObject({ ok: true, threads: 2, connections: 4 });
    expect(result!.messages).toEqual({ sent: 200, received: 200, mismatched: 0, lost: 0, errors: 0 });
    expect(result!.latencyUs.count).toBe(200);
  });

  test('opens a new connection per message with --handshakes and reports handshakes per second', async () => {
    const server = await startRuleServer(echo);
    const r = await runCli([
      'bench',
      server.target,
      '--pin',
      await pin(),
      '--handshakes',
      '-n',
      '6',
      '-c',
      '2',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [result] = parseReport(r.stdout).results;
    expect(result).toMatchObject({ ok: true, handshakeMode: true });
    expect(result!.messages).toEqual({ sent: 6, received: 6, mismatched: 0, lost: 0, errors: 0 });
    expect(result!.handshakes.count).toBe(6);
    expect(result!.handshakes.perSecond).toBeGreaterThan(0);
  });

  test('sends at a fixed rate with --rate and still checks every reply', async () => {
    const server = await startRuleServer(echo);
    const r = await runCli([
      'bench',
      server.target,
      '--pin',
      await pin(),
      '--rate',
      '400',
      '-n',
      '40',
      '--pipeline',
      '8',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const [result] = parseReport(r.stdout).results;
    expect(result).toMatchObject({ ok: true, rate: 400 });
    expect(result!.messages.received).toBe(40);
  });
});

describe('against a wrong echo server', () => {
  test('counts a corrupted reply as a mismatch and exits 8', async () => {
    const server = await startRuleServer((payload, index) => {
      if (index !== 7) return payload;
      const corrupt = Buffer.from(payload);
      corrupt[corrupt.length - 1] = corrupt.at(-1)! ^ 0xff;
      return corrupt;
    });
    const r = await runCli(['bench', server.target, '--pin', await pin(), '-n', '20', '--json']);
    expect(r.code).toBe(8);
    const report = parseReport(r.stdout);
    expect(report.ok).toBe(false);
    expect(report.results[0]!.messages).toEqual({
      sent: 20,
      received: 20,
      mismatched: 1,
      lost: 0,
      errors: 0,
    });
    expect(report.results[0]!.firstMismatch).toBe(
      'connection 1: reply to message 7 differs from what was sent (64 bytes, expected 64)',
    );
    const line = JSON.parse(r.stderr.trim()) as { code: string; msg: string };
    expect(line.code).toBe('ERR_MISMATCH');
    expect(line.msg).toBe(
      `echo check failed against ${server.target}: 1 of 20 replies differed from what was sent`,
    );
  });

  // Replies are checked piece by piece as they arrive; at the first wrong byte a decoder takes over from the
  // start of that frame. Either way a wrong reply is one mismatch and the replies after it are still checked.
  test.each<[string, ReplyRule, string[], string]>([
    [
      // 64 KiB frames arrive in TLS records of 16 KiB at most: the bad byte of the reply to message 3 is in
      // its third piece, after two that were right.
      'one corrupted byte deep in a frame that came over many reads',
      (payload, index) => {
        if (index !== 3) return payload;
        const corrupt = Buffer.from(payload);
        corrupt[40_000] = corrupt[40_000]! ^ 0x01;
        return corrupt;
      },
      ['-n', '12', '--pipeline', '4', '-s', '64KiB'],
      'reply to message 3 differs from what was sent (65536 bytes, expected 65536)',
    ],
    [
      'a reply of the wrong length',
      (payload, index) => (index === 5 ? payload.subarray(0, 63) : payload),
      ['-n', '20', '--pipeline', '4'],
      'reply to message 5 differs from what was sent (63 bytes, expected 64)',
    ],
  ])(
    'counts %s as one mismatch and checks the replies after it',
    async (_wrong, rule, flags, firstMismatch) => {
      const server = await startRuleServer(rule);
      const r = await runCli(['bench', server.target, '--pin', await pin(), ...flags, '--json']);
      expect(r.code).toBe(8);
      const [result] = parseReport(r.stdout).results;
      const sent = Number(flags[1]);
      expect(result!.messages).toEqual({ sent, received: sent, mismatched: 1, lost: 0, errors: 0 });
      expect(result!.firstMismatch).toBe(`connection 1: ${firstMismatch}`);
    },
  );

  test('counts a message the server dropped as lost, says so on stderr, and exits 8', async () => {
    const server = await startRuleServer((payload, index) => (index === 4 ? undefined : payload));
    const r = await runCli(['bench', server.target, '--pin', await pin(), '-n', '30', '--pipeline', '8']);
    expect(r.code).toBe(8);
    expect(r.stdout).toContain('30 sent, 29 received, 0 mismatched, 1 lost, 0 errors');
    expect(r.stdout).toContain('— FAILED');
    expect(r.stderr).toBe(`tlsecho: echo check failed against ${server.target}: 1 message got no reply\n`);
  });

  test('reports a refused connection with exit 4', async () => {
    // A port that was free a moment ago: nothing listens there now.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const r = await runCli(['bench', `127.0.0.1:${port}`, '--pin', await pin(), '-n', '5']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`tlsecho: connection refused by 127.0.0.1:${port}\n`);
  });

  test('refuses a server it cannot verify with exit 5, before sending anything', async () => {
    let messages = 0;
    const server = await startRuleServer((payload) => {
      messages += 1;
      return payload;
    });
    const r = await runCli(['bench', server.target, '-n', '5']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^tlsecho: certificate of 127\.0\.0\.1:\d+ is self-signed and not trusted/);
    expect(messages).toBe(0);
  });
});
