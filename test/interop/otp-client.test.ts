import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PeerError } from './helpers/line-peer.js';
import { mutualOptions, OtpClient, verifyingOptions, type OtpPacket } from './helpers/otp-peers.js';
import { needs } from '../helpers/system-tools.js';
import { makeInteropPki, type InteropPki } from './helpers/pki.js';
import { ServeProcess } from './helpers/tlsecho-serve.js';

// An Erlang client written as services write one (ssl:connect with {packet, N}, {active, false}, verify_peer
// and HTTPS host-name rules) against the real `tlsecho serve`, with certificates from `tlsecho gencert`.

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const MIB = 1024 * 1024;

/** Frames each packet size must carry unchanged: empty, the header's limit, every byte value. */
const FRAMES: Record<1 | 2 | 4, Buffer[]> = {
  1: [
    Buffer.alloc(0),
    Buffer.from('hello'),
    ALL_BYTES.subarray(0, 255),
    ALL_BYTES.subarray(255),
    Buffer.alloc(255, 0xff),
  ],
  2: [Buffer.alloc(0), ALL_BYTES, Buffer.alloc(256, 0x0a), randomBytes(65_535)],
  4: [Buffer.alloc(0), ALL_BYTES, randomBytes(65_535), randomBytes(65_536), randomBytes(MIB)],
};

needs('escript', 'elixir').describe('an Erlang ssl client and tlsecho serve', () => {
  let pki: InteropPki;
  let otp: OtpClient;
  const servers: Record<string, ServeProcess> = {};
  let nextId = 0;

  beforeAll(async () => {
    pki = await makeInteropPki();
    const serve = (name: string, args: string[]) =>
      ServeProcess.start(pki.tlsechoServer, args).then((server) => (servers[name] = server));
    const [client] = await Promise.all([
      OtpClient.start(),
      serve('packet1', ['--packet', '1']),
      serve('packet2', ['--packet', '2']),
      serve('packet4', ['--packet', '4']),
      serve('mutual', ['--client-ca', pki.caFile]),
      serve('maxFrame', ['--max-frame', '1000']),
    ]);
    otp = client;
  });

  afterAll(async () => {
    await Promise.all([otp?.stop(), ...Object.values(servers).map((server) => server.stop())]);
    await pki?.remove();
  });

  /** Opens a connection from the OTP client; returns its id. */
  async function open(port: number, packet: OtpPacket, options = verifyingOptions(pki)): Promise<string> {
    const id = `c${++nextId}`;
    await otp.connect(id, port, packet, options);
    return id;
  }

  test.each([1, 2, 4] as const)(
    'packet %i: every frame comes back unchanged (empty, boundary sizes, every byte value, 1 MiB for packet 4)',
    async (packet) => {
      const id = await open(servers[`packet${packet}`]!.port, packet);
      for (const payload of FRAMES[packet]) {
        await otp.send(id, payload);
        const echoed = await otp.recv(id);
        expect(echoed.length).toBe(payload.length);
        expect(echoed.equals(payload)).toBe(true);
      }
      await otp.close(id);
    },
  );

  test("OTP's host-name check accepts tlsecho's certificate for localhost and refuses it for another name", async () => {
    // verify_peer with server_name_indication and the HTTPS match function, as an Erlang client should.
    const id = await open(servers.packet4!.port, 4, verifyingOptions(pki, 'localhost'));
    await otp.send(id, 'verified');
    expect((await otp.recv(id)).toString()).toBe('verified');
    await expect(open(servers.packet4!.port, 4, verifyingOptions(pki, 'elsewhere.example'))).rejects.toThrow(
      /hostname_check_failed/,
    );
  });

  test("tlsecho serve --client-ca accepts OTP's client certificate from the same CA and names it", async () => {
    const server = servers.mutual!;
    const id = await open(server.port, 4, mutualOptions(pki, pki.otpClient.certFile, pki.otpClient.keyFile));
    await otp.send(id, 'from erlang');
    expect((await otp.recv(id)).toString()).toBe('from erlang');
    await server.waitForLog(/accepted 127\.0\.0\.1:\d+ .*client CN=otp-client sha256:/);
    await otp.close(id);
  });

  test('tlsecho serve --client-ca refuses an OTP client without a certificate', async () => {
    const server = servers.mutual!;
    // With TLS 1.3 the client finishes its side of the handshake first; the refusal arrives as an alert.
    // OTP passes that alert on to recv but not always to send (erlang/otp#9051): depending on when it lands,
    // the client sees the alert, `closed` or (seen once in CI) `einval`. Which one is OTP's race; why the
    // server refused is what its log must say.
    const refused = (async () => {
      const id = await open(server.port, 4);
      await otp.send(id, 'let me in');
      await otp.recv(id);
    })();
    await expect(refused).rejects.toThrow(/certificate_required|handshake_failure|closed|einval/);
    await server.waitForLog(/handshake with 127\.0\.0\.1:\d+ failed: .*certificate/);
  });

  test("--max-frame is inclusive and enforced from the header alone, as OTP's packet_size", async () => {
    const server = servers.maxFrame!;
    const exactly = await open(server.port, 4);
    await otp.send(exactly, Buffer.alloc(1000, 'a'));
    expect((await otp.recv(exactly)).length).toBe(1000);
    await otp.close(exactly);
    await server.waitForLog(/\[#1\] closed .*client closed; 1 frame in/);

    // Only the 4-byte header declaring 1001 bytes: the server does not wait for a body before closing.
    const headerOnly = await open(server.port, 'raw');
    await otp.send(headerOnly, Buffer.from([0, 0, 0x03, 0xe9]));
    await expect(otp.recv(headerOnly, 5000, 1)).rejects.toThrow(PeerError);
    await expect(otp.recv(headerOnly, 5000, 1)).rejects.toThrow(/closed/);
    await server.waitForLog(
      /\[#2\] closed .*frame too large: peer declared a 1001-byte frame, above the 1000-byte maximum; 0 frames in \(4 B\)/,
    );

    const oneOver = await open(server.port, 4);
    await otp.send(oneOver, Buffer.alloc(1001, 'a'));
    await expect(otp.recv(oneOver)).rejects.toThrow(/closed/);
    await server.waitForLog(/\[#3\] closed .*frame too large: peer declared a 1001-byte frame/);
  });
});
