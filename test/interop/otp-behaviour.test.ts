import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { frame } from '../server/helpers/fixture.js';
import { ElixirServer, OtpClient, verifyingOptions } from './helpers/otp-peers.js';
import { needs } from '../helpers/system-tools.js';
import { makeInteropPki, type InteropPki } from './helpers/pki.js';
import { rawTls, silentTcp } from './helpers/sockets.js';
import { ServeProcess } from './helpers/tlsecho-serve.js';

// The OTP behaviours docs/erlang.md describes, measured against the real thing, each beside what tlsecho
// does in the same situation.

const HANDSHAKE_TIMEOUT_MS = 500;
const IDLE_TIMEOUT_MS = 1000;

needs('escript', 'elixir').describe('OTP {packet, N} behaviour beside tlsecho', () => {
  let pki: InteropPki;
  let otp: OtpClient;
  let elixir: ElixirServer;
  let packet1: ServeProcess;
  let guarded: ServeProcess;
  let nextId = 0;

  beforeAll(async () => {
    pki = await makeInteropPki();
    [otp, elixir, packet1, guarded] = await Promise.all([
      OtpClient.start(),
      ElixirServer.start(pki),
      ServeProcess.start(pki.tlsechoServer, ['--packet', '1']),
      ServeProcess.start(pki.tlsechoServer, [
        '--handshake-timeout',
        `${HANDSHAKE_TIMEOUT_MS}ms`,
        '--idle-timeout',
        `${IDLE_TIMEOUT_MS}ms`,
      ]),
    ]);
  });

  afterAll(async () => {
    await Promise.all([otp?.stop(), elixir?.stop(), packet1?.stop(), guarded?.stop()]);
    await pki?.remove();
  });

  test('ssl:send with {packet, 1} refuses a 256-byte payload, writes nothing, and the socket stays usable', async () => {
    const id = `c${++nextId}`;
    await otp.connect(id, packet1.port, 1, verifyingOptions(pki));
    await expect(otp.send(id, Buffer.alloc(256, 'b'))).rejects.toThrow(
      'error {badarg,{packet_to_large,256,255}}',
    );
    await otp.send(id, 'c');
    expect((await otp.recv(id)).toString()).toBe('c');
    await otp.close(id);
    // The server saw one 1-byte frame: two bytes in all, so nothing of the refused payload was written.
    await packet1.waitForLog(/closed .*client closed; 1 frame in \(2 B\), 1 out \(2 B\)/);
  });

  test('gen_tcp:send with {packet, 1} or {packet, 2} writes an oversized payload behind a truncated header', async () => {
    // The header keeps only the low bits of the length: 256 becomes 0, 300 becomes 44, 65,536 becomes 0.
    expect(await otp.genTcpWire(1, 255)).toEqual({ result: 'ok', wireBytes: 256, head: 'ff787878' });
    expect(await otp.genTcpWire(1, 256)).toEqual({ result: 'ok', wireBytes: 257, head: '00787878' });
    expect(await otp.genTcpWire(1, 300)).toEqual({ result: 'ok', wireBytes: 301, head: '2c787878' });
    expect(await otp.genTcpWire(2, 65_536)).toEqual({ result: 'ok', wireBytes: 65_538, head: '00007878' });
  });

  test('ssl accepts {packet, 3} and sends without any header; tlsecho refuses 3 at argument parsing', async () => {
    const id = `c${++nextId}`;
    await otp.connect(id, guarded.port, 3, verifyingOptions(pki));
    await otp.send(id, 'hello');
    // "hell" read as a 4-byte header: 0x68656c6c bytes, far above the limit.
    await guarded.waitForLog(/frame too large: peer declared a 1751477356-byte frame/);
    await expect(otp.recv(id)).rejects.toThrow(/closed/);

    const commands = [['serve'], ['send', '127.0.0.1:1', 'hi'], ['connect', '127.0.0.1:1']];
    const results = await Promise.all(commands.map((command) => runCli([...command, '--packet', '3'])));
    for (const result of results) {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("invalid packet mode '3': use 1, 2, 4 or line");
      expect(result.stdout).toBe('');
    }
  });

  test("OTP's packet_size is inclusive and enforced from the header alone", async () => {
    const port = await elixir.listen(4, { packetSize: 1000 });
    const exactly = await rawTls(pki, port);
    exactly.socket.write(frame(Buffer.alloc(1000, 'a')));
    expect((await exactly.until(1004)).subarray(4)).toEqual(Buffer.alloc(1000, 'a'));

    // A header declaring 1001 bytes and no body: OTP closes without waiting for the payload.
    const headerOnly = await rawTls(pki, port);
    headerOnly.socket.write(Buffer.from([0, 0, 0x03, 0xe9]));
    await headerOnly.closed(5000);
    expect(headerOnly.bytes().length).toBe(0);
  });

  test('a silent TCP connection: held by the OTP server, closed by tlsecho after --handshake-timeout', async () => {
    const otpPort = await elixir.listen(4);
    const toOtp = await silentTcp(otpPort);
    const toTlsecho = await silentTcp(guarded.port);
    const closedAfter = await toTlsecho.closed(5000);
    expect(closedAfter).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS - 50);
    // :ssl.handshake/1 has no timeout: the OTP handler process still waits for a ClientHello.
    expect(toOtp.open).toBe(true);
    expect(await elixir.handlers()).toBeGreaterThanOrEqual(1);
    await guarded.waitForLog(
      /handshake with 127\.0\.0\.1:\d+ failed: the client did not complete the TLS handshake in time/,
    );
  });

  test('a header declaring 100 MB: the OTP server waits for the body, tlsecho refuses it at the header', async () => {
    const lie = Buffer.concat([Buffer.from([0x05, 0xf5, 0xe1, 0x00]), Buffer.from('abc')]); // 100,000,000
    const toOtp = await rawTls(pki, await elixir.listen(4));
    const toTlsecho = await rawTls(pki, guarded.port);
    toOtp.socket.write(lie);
    toTlsecho.socket.write(lie);
    await toTlsecho.closed(5000);
    await guarded.waitForLog(
      /frame too large: peer declared a 100000000-byte frame, above the 8388608-byte maximum/,
    );
    expect(toOtp.open).toBe(true);
  });

  test('a frame that trickles in and stops: tlsecho closes it after --idle-timeout, the OTP server does not', async () => {
    // 1 MB declared (within tlsecho's 8 MiB default), three bytes sent, then silence.
    const stall = Buffer.concat([Buffer.from([0x00, 0x0f, 0x42, 0x40]), Buffer.from('abc')]);
    const toOtp = await rawTls(pki, await elixir.listen(4));
    const toTlsecho = await rawTls(pki, guarded.port);
    toOtp.socket.write(stall);
    toTlsecho.socket.write(stall);
    const closedAfter = await toTlsecho.closed(5000);
    expect(closedAfter).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 50);
    await guarded.waitForLog(/closed .*idle timeout/);
    expect(toOtp.open).toBe(true);
  });
});
