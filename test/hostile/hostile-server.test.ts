// The other side: a server that lies about a length, sends garbage, or hangs up inside a frame. `connect`
// and `send` must print every complete frame they got, then exit 7 with one clear line, at once.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnCli } from '../helpers/run-cli.js';
import { frame as testFrame, startTestServer } from '../client/helpers/framed-server.js';
import { header, ms, report } from './helpers/clients.js';
import { createPki, type HostilePki } from './helpers/pki.js';

// Well under any timeout the commands have (10 s): they must fail on the bytes, not wait.
const AT_ONCE_MS = 3000;

let pki: HostilePki;
beforeAll(async () => {
  pki = await createPki();
});
afterAll(() => pki?.remove());

interface Misbehaviour {
  name: string;
  /** What the server does instead of answering the third message. */
  act(socket: TLSSocket): void;
  /** The reason after `bad frame from HOST:PORT: `. */
  reason: RegExp;
  flags?: string[];
}

const MISBEHAVIOURS: Misbehaviour[] = [
  {
    name: 'a header declaring 4 GiB - 1, then silence',
    act: (socket) => socket.write(Buffer.concat([header(0xffff_ffff), Buffer.from('x')])),
    reason: /^peer declared a 4294967295-byte frame, above the 8388608-byte maximum$/,
  },
  {
    name: 'a header one byte above --max-frame, then silence',
    act: (socket) => socket.write(header(1025)),
    reason: /^peer declared a 1025-byte frame, above the 1024-byte maximum$/,
    flags: ['--max-frame', '1KiB'],
  },
  {
    name: 'garbage (an HTTP error page) instead of a frame',
    act: (socket) => socket.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'),
    // The header bytes are "HTTP": the message says it looks like unframed text.
    reason:
      /^peer declared a 1213486160-byte frame, above the 8388608-byte maximum; its 4 header bytes read "HTTP", which looks like unframed text/,
  },
  {
    name: 'a close in the middle of a frame',
    act: (socket) => socket.end(Buffer.concat([header(100), Buffer.alloc(10, 0x7a)])),
    reason: /^stream ended inside a frame: 90 of 100 bytes missing$/,
  },
];

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

// Runs the command with stdin left open (connect) so that only the server's bytes can end it.
async function run(child: ChildProcess, input?: string): Promise<Outcome> {
  const started = performance.now();
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  child.stdin!.on('error', () => {});
  if (input === undefined) child.stdin!.end();
  else child.stdin!.write(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr, elapsedMs: performance.now() - started };
}

describe.each(['connect', 'send'] as const)('tlsecho %s', (command) => {
  test.each(MISBEHAVIOURS)(
    'against $name: the complete frames, then exit 7 at once',
    async (misbehaviour) => {
      const server = await startTestServer({
        cert: pki.certPem,
        key: pki.keyPem,
        onFrame: (payload, peer) => {
          if (peer.received.length < 3) peer.socket.write(testFrame(4, payload));
          else misbehaviour.act(peer.socket);
        },
      });
      const target = `127.0.0.1:${server.port}`;
      const flags = ['--ca', pki.caFile, ...(misbehaviour.flags ?? [])];
      const outcome =
        command === 'connect'
          ? await run(spawnCli(['connect', target, ...flags]), 'one\ntwo\nthree\n')
          : await run(spawnCli(['send', target, ...flags, 'one', 'two', 'three']));

      expect(outcome.code).toBe(7);
      expect(outcome.stdout).toBe('one\ntwo\n');
      const [first, ...rest] = outcome.stderr.trimEnd().split('\n');
      expect(first).toMatch(new RegExp(`^tlsecho: bad frame from ${target}: `));
      expect(first!.slice(`tlsecho: bad frame from ${target}: `.length)).toMatch(misbehaviour.reason);
      // One clear line (a hint at most), never a stack trace.
      expect(rest.every((line) => line.startsWith('hint: '))).toBe(true);
      expect(outcome.elapsedMs).toBeLessThan(AT_ONCE_MS);
      report(`client ${command} vs ${misbehaviour.name}`, { exitCode: 7, elapsedMs: ms(outcome.elapsedMs) });
    },
  );
});
