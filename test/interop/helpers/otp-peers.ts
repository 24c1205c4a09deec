import { fileURLToPath } from 'node:url';
import { LinePeer } from './line-peer.js';
import type { InteropPki } from './pki.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export type OtpPacket = 1 | 2 | 4 | 3 | 'raw';

const hex = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('hex');

/** The options a careful Erlang client passes to verify a server: CA, SNI and the HTTPS host-name rules. */
export function verifyingOptions(pki: InteropPki, serverName = 'localhost'): string {
  return `[{verify, verify_peer}, {cacertfile, ${erlangString(pki.caFile)}},
    {server_name_indication, ${erlangString(serverName)}},
    {customize_hostname_check, [{match_fun, public_key:pkix_verify_hostname_match_fun(https)}]}]`;
}

/** verifyingOptions plus a client certificate, for mutual TLS. */
export function mutualOptions(pki: InteropPki, certFile: string, keyFile: string): string {
  return `[{certfile, ${erlangString(certFile)}}, {keyfile, ${erlangString(keyFile)}} | ${verifyingOptions(pki)}]`;
}

/** A path as an Erlang string literal. */
export function erlangString(text: string): string {
  return JSON.stringify(text);
}

/** The Erlang client fixture (otp_client.escript): `ssl:connect` with `{packet, N}, {active, false}`. */
export class OtpClient {
  private constructor(readonly peer: LinePeer) {}

  static async start(): Promise<OtpClient> {
    return new OtpClient(await LinePeer.start('escript', [`${FIXTURES}otp_client.escript`]));
  }

  /** Opens connection `id`; `options` is an Erlang list expression of TLS options. */
  async connect(id: string, port: number, packet: OtpPacket, options: string): Promise<void> {
    await this.peer.request('connect', id, String(port), String(packet), hex(options));
  }

  async send(id: string, payload: Uint8Array | string): Promise<void> {
    await this.peer.request('send', id, hex(payload));
  }

  /** One frame (or exactly `length` bytes on a raw connection). */
  async recv(id: string, timeoutMs = 5000, length?: number): Promise<Buffer> {
    const words = ['recv', id, String(timeoutMs)];
    if (length !== undefined) words.push(String(length));
    return Buffer.from(await this.peer.request(...words), 'hex');
  }

  /** Sends `term_to_binary` of an Erlang expression's value. */
  async sendTerm(id: string, source: string): Promise<void> {
    await this.peer.request('send_term', id, hex(source));
  }

  /** Receives one frame and shows `binary_to_term` of it as `~0tp` prints it. */
  async recvTerm(id: string, timeoutMs = 5000): Promise<string> {
    return Buffer.from(await this.peer.request('recv_term', id, String(timeoutMs)), 'hex').toString('utf8');
  }

  async close(id: string): Promise<void> {
    await this.peer.request('close', id);
  }

  /** What `gen_tcp:send` with `{packet, N}` returns for an `length`-byte payload and what reached the wire. */
  async genTcpWire(
    packet: 1 | 2,
    length: number,
  ): Promise<{ result: string; wireBytes: number; head: string }> {
    const [result, total, head] = (
      await this.peer.request('gen_tcp_wire', String(packet), String(length))
    ).split(' ');
    return { result: result!, wireBytes: Number(total), head: head!.toLowerCase() };
  }

  stop(): Promise<void> {
    return this.peer.close();
  }
}

export type ServerMode = 'echo' | 'upper' | 'etf';

/** The Elixir echo server fixture (echo_server.exs): `:ssl.listen` with `packet: N, active: true`. */
export class ElixirServer {
  private constructor(readonly peer: LinePeer) {}

  /** Starts the VM with the OTP server certificate (issued by the interop CA). */
  static async start(pki: InteropPki): Promise<ElixirServer> {
    const peer = await LinePeer.start('elixir', [
      `${FIXTURES}echo_server.exs`,
      pki.otpServer.certFile,
      pki.otpServer.keyFile,
      pki.caFile,
    ]);
    return new ElixirServer(peer);
  }

  /**
   * A new listener on 127.0.0.1; resolves with its port. `verify: 'peer'` demands a client certificate
   * from the interop CA; `packetSize` is OTP's `packet_size` (0: no limit).
   */
  async listen(
    packet: 1 | 2 | 4,
    options: { mode?: ServerMode; verify?: 'none' | 'peer'; packetSize?: number } = {},
  ): Promise<number> {
    const words = ['listen', String(packet), options.mode ?? 'echo', options.verify ?? 'none'];
    if (options.packetSize !== undefined) words.push(String(options.packetSize));
    return Number(await this.peer.request(...words));
  }

  /** Connection handler processes alive under the DynamicSupervisor. */
  async handlers(): Promise<number> {
    return Number(await this.peer.request('handlers'));
  }

  /** TCP connections accepted so far, on every listener. */
  async accepted(): Promise<number> {
    return Number(await this.peer.request('accepted'));
  }

  /** Common names of the verified client certificates seen so far. */
  async peers(): Promise<string[]> {
    const answer = await this.peer.request('peers');
    return answer === '' ? [] : answer.split(',');
  }

  stop(): Promise<void> {
    return this.peer.close();
  }
}
