// Peer-chosen text (a client certificate's subject, a PROXY header's UNIX socket path, a handler's stderr) in
// the server's text log and an exec child's environment: it must never start a line of its own nor reach
// the terminal or the child as a control character.
import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { describe, expect, onTestFinished, test } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { describeConnection } from '../../src/client/open-client.js';
import type { FramedClient } from '../../src/client/framed-client.js';
import { escapeControls } from '../../src/escape.js';
import type { ConnectionInfo, ConnectionSummary } from '../../src/server/connection.js';
import { logServerEvents } from '../../src/server/server-log.js';
import type { TlsechoServer } from '../../src/server/server.js';
import { frame, ReplyReader, startServer, testPki } from '../server/helpers/fixture.js';

const FORGED = 'mallory\n[#99] accepted 10.0.0.1:1 \x1b[31mFORGED\x1b[0m';
// Control characters, DEL, C1 controls (0x9b is CSI), line separators and bidi overrides.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** The text log of a server, line by line. */
function textLog(server: EventEmitter): string[] {
  const stream = new PassThrough();
  const lines: string[] = [];
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    const parts = (pending + chunk.toString()).split('\n');
    pending = parts.pop() ?? '';
    lines.push(...parts);
  });
  logServerEvents(server as TlsechoServer, createLogger(stream, { level: 'verbose' }), {
    maxConnections: 10,
  });
  return lines;
}

function info(overrides: Partial<ConnectionInfo>): ConnectionInfo {
  return {
    id: 7,
    remoteAddress: '127.0.0.1',
    remotePort: 4000,
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    alpnProtocol: false,
    client: undefined,
    ...overrides,
  };
}

describe('the text log escapes what a peer chose', () => {
  test('a client certificate CN holding a newline and ANSI escapes stays on its one accepted line', () => {
    const server = new EventEmitter();
    const lines = textLog(server);
    server.emit(
      'connection',
      info({
        client: { commonName: FORGED, subject: `CN=${FORGED}, O=x`, fingerprint: `sha256:${'a'.repeat(64)}` },
      }),
    );
    expect(lines).toEqual([
      `[#7] accepted 127.0.0.1:4000 TLSv1.3 TLS_AES_256_GCM_SHA384 client CN=mallory\\n[#99] accepted 10.0.0.1:1 \\x1b[31mFORGED\\x1b[0m sha256:${'a'.repeat(64)}`,
    ]);
  });

  test('a closed line quoting a handler error with a newline and C1 controls is one line', () => {
    const server = new EventEmitter();
    const lines = textLog(server);
    const summary: ConnectionSummary = {
      id: 3,
      remoteAddress: '127.0.0.1',
      remotePort: 4000,
      client: undefined,
      reason: 'handler-failed',
      error: new Error('bad input \u009b31m\u202eredrow\nsecond line'),
      handlerExit: undefined,
      durationMs: 5,
      framesIn: 1,
      framesOut: 0,
      bytesIn: 9,
      bytesOut: 0,
      framesDropped: 0,
    };
    server.emit('disconnect', summary);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('handler failed: bad input \\x9b31m\\u202eredrow;');
    expect(lines[0]).not.toMatch(UNSAFE);
  });

  test('a handler stderr line with DEL and C1 controls is shown escaped', () => {
    const server = new EventEmitter();
    const lines = textLog(server);
    server.emit('handlerOutput', { id: 2, line: 'x\u007f\u009b2J\u2028y' });
    expect(lines).toEqual(['[#2] handler stderr: "x\\x7f\\x9b2J\\u2028y"']);
  });
});

describe('a PROXY v2 header naming an AF_UNIX source', () => {
  // Signature, PROXY over UNIX stream, 216 bytes of addresses: the source path, then the destination.
  function unixHeader(source: string): Buffer {
    const paths = Buffer.concat([
      Buffer.from(source.padEnd(108, '\0'), 'latin1'),
      Buffer.from('/run/tlsecho.sock'.padEnd(108, '\0')),
    ]);
    return Buffer.concat([
      Buffer.from('0d0a0d0a000d0a515549540a', 'hex'),
      Buffer.from([0x21, 0x31, 0, paths.length]),
      paths,
    ]);
  }

  test('reaches neither the log nor an exec child’s REMOTE_ADDR with its control characters', async () => {
    const running = await startServer({
      proxyProtocol: true,
      handler: `exec:printf '%s\\n' "$REMOTE_ADDR"`,
    });
    const lines = textLog(running.server);
    const { ca } = await testPki();
    const raw = net.connect(running.port, '127.0.0.1');
    onTestFinished(() => void raw.destroy());
    await once(raw, 'connect');
    const path = '/tmp/a\n[#99] accepted 10.0.0.1:1 \x1b[31mFORGED';
    await new Promise((resolve) => raw.write(unixHeader(path), resolve));
    const tls = tlsConnect({ socket: raw, ca: ca.certPem, servername: 'localhost' });
    onTestFinished(() => void tls.destroy());
    await once(tls, 'secureConnect');
    const reader = new ReplyReader(tls);
    const closed = running.nextClose();
    tls.write(frame('hi'));
    const [reply] = await reader.until(1);
    const escaped = '/tmp/a\\x0a[#99] accepted 10.0.0.1:1 \\x1b[31mFORGED';
    expect(reply!.toString()).toBe(escaped);
    await closed;
    // Two lines, accepted and closed, both about connection #1; no forged #99.
    expect(lines.map((line) => /^\[#\d+\] \w+/.exec(line)?.[0])).toEqual(['[#1] accepted', '[#1] closed']);
    expect(lines[0]).toMatch(
      /^\[#1\] accepted \/tmp\/a\\x0a\[#99\] accepted 10\.0\.0\.1:1 \\x1b\[31mFORGED:0 /,
    );
    for (const line of lines) expect(line).not.toMatch(UNSAFE);
  });
});

test('the client’s connected line escapes the server certificate’s CN', () => {
  const client = {
    target: 'example:443',
    peer: {
      protocol: 'TLSv1.3',
      cipher: 'TLS_AES_128_GCM_SHA256',
      subject: FORGED,
      fingerprint: 'sha256:ab',
    },
  } as unknown as FramedClient;
  const line = describeConnection(client, { insecure: false } as never);
  expect(line).toBe(
    'connected to example:443: TLSv1.3, TLS_AES_128_GCM_SHA256, CN=mallory\\n[#99] accepted 10.0.0.1:1 \\x1b[31mFORGED\\x1b[0m, sha256:ab, verified',
  );
});

test('escapeControls leaves ordinary text, including non-ASCII letters, unchanged', () => {
  expect(escapeControls('CN=Zoë Ångström, O=例え')).toBe('CN=Zoë Ångström, O=例え');
  expect(escapeControls('a\tb\r\n\x00')).toBe('a\\tb\\r\\n\\x00');
});
