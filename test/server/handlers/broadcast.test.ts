// `--handler broadcast`: each message to every other client, over real TLS on loopback, and what happens to
// a client that never reads what it is sent.
import type { TLSSocket } from 'node:tls';
import { describe, expect, test } from 'vitest';
import type { BroadcastOptions } from '../../../src/server/handlers/broadcast.js';
import { connectClient, frame, ReplyReader, startServer, texts } from '../helpers/fixture.js';

async function startHub(broadcast: BroadcastOptions = {}) {
  const running = await startServer({ handler: 'broadcast', broadcast });
  const clients = await Promise.all([0, 1, 2].map(() => connectClient(running.port)));
  // A client is a member once the server has accepted it: wait for all three before anyone speaks.
  await waitFor(() => running.server.stats.open === 3);
  return { ...running, clients, readers: clients.map((socket) => new ReplyReader(socket)) };
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function closeAll(sockets: TLSSocket[]): void {
  for (const socket of sockets) socket.end();
}

describe('broadcast', () => {
  test('each message reaches every other client, not its sender, and the summaries count frames', async () => {
    const { clients, readers, nextClose } = await startHub();
    const [a, b, c] = clients as [TLSSocket, TLSSocket, TLSSocket];
    const [ra, rb, rc] = readers as [ReplyReader, ReplyReader, ReplyReader];
    a.write(frame('from a'));
    expect(texts(await rb.until(1))).toEqual(['from a']);
    expect(texts(await rc.until(1))).toEqual(['from a']);
    b.write(frame('from b'));
    // Had a received its own message, it would stand before b's in a's stream.
    expect(texts(await ra.until(1))).toEqual(['from b']);
    c.write(Buffer.concat([frame('c1'), frame(''), frame('c3')]));
    expect(texts(await ra.until(4))).toEqual(['from b', 'c1', '', 'c3']);
    expect(texts(await rb.until(4))).toEqual(['from a', 'c1', '', 'c3']);
    expect(texts(rc.replies)).toEqual(['from a', 'from b']);

    const closing = nextClose();
    a.end();
    const summary = await closing;
    expect(summary).toMatchObject({ reason: 'client-closed', framesIn: 1, framesOut: 4, framesDropped: 0 });
    // The hub forgot a: b's next message goes to c alone, and nothing breaks.
    b.write(frame('after a left'));
    expect(texts(await rc.until(3))).toEqual(['from a', 'from b', 'after a left']);
    closeAll([b, c]);
  });

  test('with --broadcast-self the sender gets its own message too', async () => {
    const { clients, readers } = await startHub({ self: true });
    const [a] = clients as [TLSSocket];
    a.write(frame('hello all'));
    for (const reader of readers) expect(texts(await reader.until(1))).toEqual(['hello all']);
    closeAll(clients);
  });

  test('messages are opaque: Erlang terms and arbitrary bytes arrive unchanged', async () => {
    const { clients, readers } = await startHub();
    // term_to_binary({ok, <<"hi">>}) and every byte value.
    const term = Buffer.from('836802640002 6f6b6d000000026869'.replace(/ /g, ''), 'hex');
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    clients[0]!.write(Buffer.concat([frame(term), frame(bytes)]));
    const received = await readers[1]!.until(2);
    expect(received[0]!.equals(term)).toBe(true);
    expect(received[1]!.equals(bytes)).toBe(true);
    closeAll(clients);
  });
});

// Enough that the slow client's kernel buffers (both ends of loopback) cannot absorb it all.
const FLOOD_FRAMES = 600;
const FLOOD_PAYLOAD = Buffer.alloc(32 * 1024, 0x62);

describe('broadcast to a client that never reads', () => {
  async function flood(drop: boolean) {
    const hub = await startHub({ drop });
    const [sender, honest, slow] = hub.clients as [TLSSocket, TLSSocket, TLSSocket];
    const [, honestReader] = hub.readers as [ReplyReader, ReplyReader, ReplyReader];
    slow.pause();
    slow.on('error', () => {});
    const slowPort = slow.localPort;
    const messages = Array.from({ length: FLOOD_FRAMES }, (_, i) =>
      Buffer.concat([Buffer.from(`${i}:`), FLOOD_PAYLOAD]),
    );
    for (const message of messages) sender.write(frame(message));
    const received = await honestReader.until(FLOOD_FRAMES, 20_000);
    // Every message, whole and in order, to the client that reads.
    expect(received.length).toBe(FLOOD_FRAMES);
    received.forEach((reply, index) => expect(reply.equals(messages[index]!)).toBe(true));
    return { ...hub, sender, honest, slow, slowPort };
  }

  test('is disconnected past its bound, with a reason, while the others get every message', async () => {
    const { server, closed, sender, honest, slowPort } = await flood(false);
    await waitFor(() => closed.some((summary) => summary.remotePort === slowPort));
    const summary = closed.find((s) => s.remotePort === slowPort)!;
    expect(summary.reason).toBe('too-slow');
    expect(summary.error?.message).toMatch(/^not reading the messages broadcast to it \(more than 64 KiB/);
    expect(summary.framesOut).toBeLessThan(FLOOD_FRAMES);
    expect(server.stats.open).toBe(2);
    closeAll([sender, honest]);
  });

  test('with --broadcast-drop stays connected, and what it missed is counted in its summary', async () => {
    const { server, closed, nextClose, sender, honest, slow, slowPort } = await flood(true);
    expect(server.stats.open).toBe(3);
    const closing = nextClose((s) => s.remotePort === slowPort);
    slow.destroy();
    const summary = await closing;
    expect(summary.reason).toBe('client-closed');
    expect(summary.framesDropped).toBeGreaterThan(0);
    // Each message meant for it was either queued for it or counted as dropped.
    expect(summary.framesOut + summary.framesDropped).toBe(FLOOD_FRAMES);
    expect(closed.filter((s) => s.reason === 'too-slow')).toEqual([]);
    closeAll([sender, honest]);
  });

  test('with --broadcast-drop a client that catches up receives again', async () => {
    const { sender, honest, slow, readers } = await flood(true);
    const honestReader = readers[1]!;
    const reader = new ReplyReader(slow);
    slow.resume();
    // Its queue drains now; until it has, markers may still be dropped. Each marker is sent once the last
    // one has reached the honest client (so the hub has handled it), until one reaches the slow client too.
    const isMarker = (reply: Buffer) => reply.toString().startsWith('marker ');
    for (let attempt = 0; !reader.replies.some(isMarker); attempt++) {
      expect(attempt).toBeLessThan(200);
      sender.write(frame(`marker ${attempt}`));
      await honestReader.until(FLOOD_FRAMES + attempt + 1);
    }
    expect(reader.replies.length).toBeGreaterThan(1);
    closeAll([sender, honest, slow]);
  });
});
