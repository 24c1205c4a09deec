import { once } from 'node:events';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { expect, onTestFinished, test } from 'vitest';
import { connectFramed } from '../../src/client/dial.js';
import { localProxyHeader } from '../../src/client/proxy-header.js';
import { UsageError } from '../../src/errors.js';
import type { ConnectionInfo } from '../../src/server/connection.js';
import { createServer } from '../../src/server/server.js';
import { frame, waitForEvent } from '../server/helpers/fixture.js';

// The library's plain TCP pair: connectFramed({ plain: true }) and createServer({ plain: true }), as
// `--plain` and `proxy --listen-plain` use them.

async function plainServer() {
  const server = createServer({ host: '127.0.0.1', port: 0, plain: true });
  onTestFinished(() => server.destroy());
  const { port } = await server.listen();
  return { server, port };
}

test('a plain client and a plain server exchange frames, and both say the connection is not encrypted', async () => {
  const { server, port } = await plainServer();
  expect(server.certificate).toBeUndefined();
  const accepted = waitForEvent(server, 'connection') as Promise<ConnectionInfo>;
  const client = await connectFramed({ host: '127.0.0.1', port, plain: true });
  onTestFinished(() => client.destroy());
  expect(client.peer).toEqual({ encrypted: false, verified: false });
  expect(client.timings.handshakeMs).toBe(0);
  expect(await accepted).toMatchObject({
    encrypted: false,
    protocol: null,
    cipher: 'none',
    alpnProtocol: false,
  });
  await client.send(Buffer.from('hello'));
  for await (const reply of client) {
    expect(reply.toString()).toBe('hello');
    break;
  }
  await client.end();
});

test('with a PROXY header, the header goes first on the TCP connection, then the frames, no TLS', async () => {
  const sockets: Socket[] = [];
  const raw = createTcpServer((socket) => sockets.push(socket));
  raw.listen(0, '127.0.0.1');
  await once(raw, 'listening');
  onTestFinished(() => {
    for (const socket of sockets) socket.destroy();
    raw.close();
  });
  const header = localProxyHeader('v2');
  const client = await connectFramed({
    host: '127.0.0.1',
    port: (raw.address() as AddressInfo).port,
    plain: true,
    proxyHeader: header,
  });
  await client.send(Buffer.from('hi'));
  const ending = client.end();
  const socket = sockets[0]!;
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  if (!socket.readableEnded) await once(socket, 'end');
  socket.end();
  await ending;
  expect(Buffer.concat(chunks)).toEqual(Buffer.concat([header, frame('hi')]));
});

test('a plain server refuses TLS options, naming the one given', async () => {
  for (const options of [{ cert: 'x', key: 'y' }, { clientCa: 'x' }, { proxyProtocol: true }]) {
    const server = createServer({ host: '127.0.0.1', port: 0, plain: true, ...options });
    await expect(server.listen()).rejects.toThrow(UsageError);
    await expect(server.listen()).rejects.toThrow(
      /a plain TCP server takes no (cert|clientCa|proxyProtocol)/,
    );
  }
});
