import { expect, onTestFinished, test } from 'vitest';
import {
  connectFramed,
  createServer,
  encodeProxyHeaderV1,
  encodeProxyHeaderV2,
  etf,
  FrameTooLargeError,
  type ConnectionInfo,
} from '../src/index.js';

// What a library user writes: a server and a client from the package entry point, verified by pin.
test('the package entry point serves and connects framed messages end to end', async () => {
  const server = createServer({ host: '127.0.0.1', port: 0, packet: 2 });
  const address = await server.listen();
  onTestFinished(() => server.close(0));
  const pin = server.certificate!.fingerprint;
  const client = await connectFramed({ host: '127.0.0.1', port: address.port, packet: 2, tls: { pin } });
  expect(client.peer.verified).toBe(true);
  const term = etf.encodeTerm(etf.parseTerm('{hello, <<"world">>, 42}'));
  await client.send(Buffer.from('plain'));
  await client.send(term);
  expect(() => client.write(Buffer.alloc(70_000))).toThrow(FrameTooLargeError);
  const ending = client.end();
  const replies: Buffer[] = [];
  for await (const frame of client) replies.push(Buffer.from(frame));
  await ending;
  expect(replies[0]!.toString()).toBe('plain');
  expect(etf.formatTerm(etf.decodeTerm(replies[1]!))).toBe('{hello,<<"world">>,42}');
});

// A client standing in for a load balancer, against a server that requires the PROXY protocol.
test.each([
  ['v1', encodeProxyHeaderV1],
  ['v2', encodeProxyHeaderV2],
])('the entry point encodes %s PROXY headers a client can open its connection with', async (_, encode) => {
  const server = createServer({ host: '127.0.0.1', port: 0, proxyProtocol: true });
  const address = await server.listen();
  onTestFinished(() => server.close(0));
  const accepted: ConnectionInfo[] = [];
  server.on('connection', (info) => accepted.push(info));
  const tls = { pin: server.certificate!.fingerprint };
  const relayed = {
    source: { address: '203.0.113.7', port: 40_001 },
    destination: { address: '127.0.0.1', port: address.port },
  };
  for (const proxyHeader of [encode(relayed), encode()]) {
    const client = await connectFramed({ host: '127.0.0.1', port: address.port, tls, proxyHeader });
    await client.send(Buffer.from('ping'));
    const ending = client.end();
    const replies: string[] = [];
    for await (const frame of client) replies.push(frame.toString());
    await ending;
    expect(replies).toEqual(['ping']);
  }
  // The relayed client is the one the header named; the LOCAL/UNKNOWN one is the connection's own peer.
  expect(accepted.map((info) => `${info.remoteAddress}:${info.remotePort}`)).toEqual([
    '203.0.113.7:40001',
    expect.stringMatching(/^127\.0\.0\.1:\d+$/),
  ]);
});

// What connections share with the server (handler, clock, closing hook) is the server's own business: a
// library user sees what they can call, and cannot swap the certificate clients were told to pin.
test('the server exposes no connection internals and a read-only certificate', async () => {
  const server = createServer({ host: '127.0.0.1', port: 0 });
  await server.listen();
  onTestFinished(() => server.close(0));
  for (const internal of [
    'handler',
    'tick',
    'traceMessages',
    'traceMessage',
    'connectionClosed',
    'framing',
  ]) {
    expect(internal in server, internal).toBe(false);
  }
  expect(server.handlerName).toBe('echo');
  const certificate = server.certificate!;
  expect(() => {
    // @ts-expect-error certificate is read-only
    server.certificate = { certPem: '', fingerprint: 'sha256:forged', ephemeral: false };
  }).toThrow(TypeError);
  expect(() => {
    (certificate as { fingerprint: string }).fingerprint = 'sha256:forged';
  }).toThrow(TypeError);
  expect(server.certificate).toBe(certificate);
  expect(server.certificate!.fingerprint).toMatch(/^sha256:/);
});
