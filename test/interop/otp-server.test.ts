import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { frame } from '../server/helpers/fixture.js';
import { ElixirServer } from './helpers/otp-peers.js';
import { needs } from '../helpers/system-tools.js';
import { makeInteropPki, type InteropPki } from './helpers/pki.js';

// The real `tlsecho send` and `connect` against an Elixir server written as services are (:ssl.listen with
// packet: N, active: true, one supervised handler per connection), its certificate issued by a CA from
// `tlsecho gencert --ca`, verification on.

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const MIB = 1024 * 1024;

/** Frames each packet size must carry unchanged: empty, the header's limit, every byte value. */
const FRAMES: Record<1 | 2 | 4, Buffer[]> = {
  1: [Buffer.alloc(0), ALL_BYTES.subarray(0, 255), ALL_BYTES.subarray(255), Buffer.from('\n\r\0')],
  2: [Buffer.alloc(0), ALL_BYTES, randomBytes(65_535)],
  4: [Buffer.alloc(0), ALL_BYTES, randomBytes(65_536), randomBytes(MIB)],
};

needs('escript', 'elixir').describe('tlsecho send and connect against an Elixir :ssl server', () => {
  let pki: InteropPki;
  let elixir: ElixirServer;
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    pki = await makeInteropPki();
    elixir = await ElixirServer.start(pki);
    for (const packet of [1, 2, 4] as const) ports[`packet${packet}`] = await elixir.listen(packet);
    ports.mutual = await elixir.listen(4, { verify: 'peer' });
  });

  afterAll(async () => {
    await elixir?.stop();
    await pki?.remove();
  });

  const trust = () => ['--ca', pki.caFile];

  test.each([1, 2, 4] as const)(
    'packet %i: send and connect --raw-in carry every frame there and back unchanged (empty, boundaries, every byte)',
    async (packet) => {
      const frames = FRAMES[packet];
      const input = Buffer.concat(frames.map((payload) => frame(payload, packet)));
      const target = `127.0.0.1:${ports[`packet${packet}`]}`;
      const flags = [...trust(), '--packet', String(packet), '--raw-in', '--output', 'hex'];
      const results = await Promise.all([
        runCli(['send', target, ...flags], { input }),
        runCli(['connect', target, ...flags], { input }),
      ]);
      for (const r of results) {
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(frames.map((payload) => `${payload.toString('hex')}\n`).join(''));
      }
    },
  );

  test('packet 2: connect pipes lines through and --output raw gives back the frames byte for byte', async () => {
    const target = `127.0.0.1:${ports.packet2}`;
    const lines = ['', 'hello', 'ü', 'x'.repeat(65_535)].map((line) => Buffer.from(line));
    const piped = await runCli(['connect', target, ...trust(), '--packet', '2', '--output', 'raw'], {
      input: lines.map((line) => `${line}\n`).join(''),
    });
    expect(piped.code).toBe(0);
    expect(piped.stdoutBytes).toEqual(Buffer.concat(lines.map((line) => frame(line, 2))));
  });

  // The load generator checks replies as they arrive, against the bytes it sent: the OTP server's own
  // framing and record sizes must come back to it exactly, large frames split over many reads included.
  test.each([
    [1, ['-s', '200', '--pipeline', '16', '-n', '1000']],
    [2, ['-s', '1KiB', '--pipeline', '32', '-n', '2000']],
    [4, ['-s', '64KiB', '--pipeline', '8', '-n', '200', '-c', '2']],
  ] as const)(
    'packet %i: tlsecho bench drives the server and finds every reply right',
    async (packet, flags) => {
      const target = `127.0.0.1:${ports[`packet${packet}`]}`;
      const r = await runCli(['bench', target, ...trust(), '--packet', String(packet), ...flags, '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const sent = Number(flags[flags.indexOf('-n') + 1]);
      const report = JSON.parse(r.stdout) as { results: Array<{ ok: boolean; messages: unknown }> };
      expect(report.results[0]).toMatchObject({
        ok: true,
        messages: { sent, received: sent, mismatched: 0, lost: 0, errors: 0 },
      });
    },
  );

  test("tlsecho verifies the OTP server's certificate: CA and host name", async () => {
    const target = `127.0.0.1:${ports.packet4}`;
    const [verified, untrusted, wrongName] = await Promise.all([
      runCli(['send', target, ...trust(), '--servername', 'localhost', 'hi']),
      runCli(['send', target, 'hi']),
      runCli(['send', target, ...trust(), '--servername', 'elsewhere.example', 'hi']),
    ]);
    expect(verified).toMatchObject({ code: 0, stdout: 'hi\n' });
    expect(untrusted.code).toBe(5);
    expect(untrusted.stdout).toBe('');
    expect(wrongName.code).toBe(5);
    expect(wrongName.stderr).toMatch(/does not cover the host name elsewhere\.example/);
  });

  test('mutual TLS: OTP (verify_peer, fail_if_no_peer_cert) accepts the tlsecho-issued client certificate', async () => {
    const target = `127.0.0.1:${ports.mutual}`;
    const client = ['--cert', pki.tlsechoClient.certFile, '--key', pki.tlsechoClient.keyFile];
    const [accepted, refused] = await Promise.all([
      runCli(['send', target, ...trust(), ...client, 'mutual']),
      runCli(['send', target, ...trust(), 'no certificate']),
    ]);
    expect(accepted).toMatchObject({ code: 0, stdout: 'mutual\n' });
    expect(await elixir.peers()).toContain('alice');
    expect(refused.code).toBe(5);
    expect(refused.stdout).toBe('');
  });

  test('send refuses a message too large for {packet, 1} before connecting (exit 7)', async () => {
    const before = await elixir.accepted();
    const r = await runCli([
      'send',
      `127.0.0.1:${ports.packet1}`,
      ...trust(),
      '--packet',
      '1',
      'x'.repeat(256),
    ]);
    expect(r.code).toBe(7);
    expect(r.stderr).toBe('tlsecho: cannot send a 256-byte message: the maximum frame is 255 bytes\n');
    expect(await elixir.accepted()).toBe(before);
  });

  test('connect refuses an oversized line with one error line, and the next line still goes through', async () => {
    const r = await runCli(['connect', `127.0.0.1:${ports.packet1}`, ...trust(), '--packet', '1'], {
      input: `before\n${'x'.repeat(256)}\nafter\n`,
    });
    expect(r.stdout).toBe('before\nafter\n');
    expect(r.stderr).toBe(
      'tlsecho: message 2 of stdin is larger than the maximum frame of 255 bytes; not sent\n' +
        'tlsecho: 1 message was not sent; the first: message 2 of stdin is larger than the maximum frame of 255 bytes\n',
    );
    expect(r.code).toBe(7);
  });
});
