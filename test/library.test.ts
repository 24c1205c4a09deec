import { expect, onTestFinished, test } from 'vitest';
import { connectFramed, createServer, etf, FrameTooLargeError } from '../src/index.js';

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
  client.end();
  const replies: Buffer[] = [];
  for await (const frame of client) replies.push(Buffer.from(frame));
  expect(replies[0]!.toString()).toBe('plain');
  expect(etf.formatTerm(etf.decodeTerm(replies[1]!))).toBe('{hello,<<"world">>,42}');
});
