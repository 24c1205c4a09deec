import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { HandlerContext } from '../../src/server/handlers/types.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { connectClient, frame, ReplyReader, startServer, texts } from './helpers/fixture.js';

describe('module handlers', () => {
  test('a module handler from a file in the working directory answers each message', async () => {
    const dir = await makeTempDir();
    await writeFile(
      join(dir, 'upper.mjs'),
      'export default (message, context) => [message.toString().toUpperCase(), `#${context.id} ${context.remoteAddress}`];\n',
    );
    const { port } = await startServer({ handler: './upper.mjs', cwd: dir });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    socket.write(frame('hello'));
    expect(texts(await reader.until(2))).toEqual(['HELLO', '#1 127.0.0.1']);
  });

  test('async replies go out in the order of the messages, whatever order they resolve in', async () => {
    const delays = [60, 0, 30, 5, 0];
    let index = 0;
    const { port } = await startServer({
      handler: async (message: Buffer) => {
        const delay = delays[index++ % delays.length]!;
        await new Promise((resolve) => setTimeout(resolve, delay));
        return message;
      },
    });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    const messages = Array.from({ length: 20 }, (_, i) => `m${i}`);
    socket.write(Buffer.concat(messages.map((message) => frame(message))));
    expect(texts(await reader.until(20))).toEqual(messages);
  });

  test('a handler can reply with several messages, a string, a Uint8Array, or nothing', async () => {
    const { port } = await startServer({
      handler: (message: Buffer) => {
        const text = message.toString();
        if (text === 'none') return undefined;
        if (text === 'many') return ['one', Buffer.from('two'), new Uint8Array([0x33])];
        return text;
      },
    });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    socket.write(Buffer.concat([frame('none'), frame('many'), frame('last')]));
    expect(texts(await reader.until(4))).toEqual(['one', 'two', '3', 'last']);
  });

  test('a handler that throws closes only its client; the others go on', async () => {
    const seen: string[] = [];
    const { port, nextClose } = await startServer({
      handler: (message: Buffer) => {
        seen.push(message.toString());
        if (message.toString() === 'boom') throw new Error('handler exploded');
        return message;
      },
    });
    const victim = await connectClient(port);
    const bystander = await connectClient(port);
    const victimReader = new ReplyReader(victim);
    const bystanderReader = new ReplyReader(bystander);
    const closing = nextClose();
    victim.write(Buffer.concat([frame('before'), frame('boom'), frame('after')]));
    expect(texts(await victimReader.end())).toEqual(['before']);
    const summary = await closing;
    expect(summary.reason).toBe('handler-failed');
    expect(summary.error?.message).toBe('handler exploded');
    // The message after the failure, which arrived in the same chunk, never reached the handler.
    expect(seen).toEqual(['before', 'boom']);
    bystander.write(frame('still served'));
    expect(texts(await bystanderReader.until(1))).toEqual(['still served']);
  });

  test('a rejected promise is a handler failure too', async () => {
    const { port, nextClose } = await startServer({
      handler: async () => {
        throw new Error('async trouble');
      },
    });
    const socket = await connectClient(port);
    const closing = nextClose();
    socket.write(frame('x'));
    expect(await closing).toMatchObject({ reason: 'handler-failed', error: { message: 'async trouble' } });
  });

  test('init and close hooks run once per connection, with the context the handler sees', async () => {
    const dir = await makeTempDir();
    const events: string[] = [];
    const globals = globalThis as { handlerEvents?: string[] };
    globals.handlerEvents = events;
    await writeFile(
      join(dir, 'hooks.mjs'),
      [
        'export async function init(context) { context.state.count = 0; globalThis.handlerEvents.push(`init ${context.id}`); }',
        'export function handler(message, context) { context.state.count += 1; return String(context.state.count); }',
        'export function close(context) { globalThis.handlerEvents.push(`close ${context.id} after ${context.state.count}`); }',
      ].join('\n'),
    );
    const { port, nextClose } = await startServer({ handler: './hooks.mjs', cwd: dir });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    socket.write(Buffer.concat([frame('a'), frame('b')]));
    expect(texts(await reader.until(2))).toEqual(['1', '2']);
    const closing = nextClose();
    socket.end();
    await closing;
    expect(events).toEqual(['init 1', 'close 1 after 2']);
  });

  test('a reply larger than the frame limit closes the connection instead of being truncated', async () => {
    const { port, nextClose } = await startServer({ packet: 1, handler: () => 'x'.repeat(300) });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket, 1);
    const closing = nextClose();
    socket.write(frame('go', 1));
    expect(await reader.end()).toEqual([]);
    const summary = await closing;
    expect(summary.reason).toBe('handler-failed');
    expect(summary.error?.message).toBe('cannot send a 300-byte message: the maximum frame is 255 bytes');
  });

  test('context.send pushes messages that answer nothing', async () => {
    const { port } = await startServer({
      handler: (message: Buffer, context: HandlerContext) => {
        context.send(['pushed first']);
        return message;
      },
    });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    socket.write(frame('hi'));
    expect(texts(await reader.until(2))).toEqual(['pushed first', 'hi']);
  });
});

describe('exec handlers', () => {
  test('exec:cat sends each message back as a line through the child', async () => {
    const { port, nextClose } = await startServer({ handler: 'exec:cat' });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    socket.write(Buffer.concat([frame('one'), frame('two')]));
    expect(texts(await reader.until(2))).toEqual(['one', 'two']);
    const closing = nextClose();
    socket.end();
    const summary = await closing;
    expect(summary).toMatchObject({ reason: 'client-closed', handlerExit: { exitCode: 0, signal: null } });
  });

  test('a child that exits closes only its own connection, logged with its exit code', async () => {
    const { port, nextClose } = await startServer({ handler: 'exec:head -n 1; exit 3' });
    const first = await connectClient(port);
    const second = await connectClient(port);
    const firstReader = new ReplyReader(first);
    const secondReader = new ReplyReader(second);
    const closing = nextClose();
    first.write(Buffer.concat([frame('only this'), frame('not this')]));
    expect(texts(await firstReader.end())).toEqual(['only this']);
    expect(await closing).toMatchObject({ reason: 'handler-exited', handlerExit: { exitCode: 3 } });
    second.write(frame('second connection'));
    expect(texts(await secondReader.until(1))).toEqual(['second connection']);
  });

  test('--exec-framing raw passes frames both ways, newlines included', async () => {
    const { port } = await startServer({ handler: 'exec:cat', execFraming: 'raw', packet: 2 });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket, 2);
    const messages = ['with\nnewline', '', 'binary \u0000\u0001'];
    socket.write(Buffer.concat(messages.map((message) => frame(message, 2))));
    expect(texts(await reader.until(3))).toEqual(messages);
  });

  test('a message holding a newline is refused in line exec framing', async () => {
    const { port, nextClose } = await startServer({ handler: 'exec:cat' });
    const socket = await connectClient(port);
    const closing = nextClose();
    socket.write(frame('two\nlines'));
    const summary = await closing;
    expect(summary.reason).toBe('handler-failed');
    expect(summary.error?.message).toMatch(/holds a newline/);
  });

  test('the child is stopped when its connection ends (here at the idle timeout)', async () => {
    const dir = await makeTempDir();
    const pidFile = join(dir, 'pid');
    const { port, nextClose } = await startServer({
      handler: `exec:echo $$ > ${pidFile}; echo started; exec sleep 60`,
      idleTimeoutMs: 300,
    });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    const closing = nextClose();
    expect(texts(await reader.until(1))).toEqual(['started']);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    expect(isAlive(pid)).toBe(true);
    expect(await closing).toMatchObject({ reason: 'idle-timeout' });
    await until(() => !isAlive(pid), 3000);
    await reader.end();
  });

  test.each([
    ['a header over --max-frame', () => header(2000), false, 'too-large'],
    ['a message holding a newline', () => frame('two\nlines'), false, 'handler-failed'],
    [
      'a frame cut short by the end of input',
      () => Buffer.concat([header(10), Buffer.from('abc')]),
      true,
      'protocol-error',
    ],
  ] as const)(
    'the reply to the message before %s still comes from the child, then the connection closes',
    async (_name, bad, thenEnd, reason) => {
      const { port, nextClose } = await startServer({ handler: 'exec:cat', maxFrame: 1024 });
      const socket = await connectClient(port);
      const reader = new ReplyReader(socket);
      const closing = nextClose();
      socket.write(Buffer.concat([frame('before'), bad()]));
      if (thenEnd) socket.end();
      expect(texts(await reader.end())).toEqual(['before']);
      expect(await closing).toMatchObject({ reason, framesOut: 1 });
    },
  );

  test('a child that outlives its stdin is stopped --drain-timeout after the client left, freeing its slot', async () => {
    const dir = await makeTempDir();
    const { port, nextClose, server } = await startServer({
      handler: `exec:echo $$ >> ${join(dir, 'pids')}; cat; exec sleep 600`,
      drainTimeoutMs: 300,
      maxConnections: 2,
    });
    const started = Date.now();
    const clients = await Promise.all([connectClient(port), connectClient(port)]);
    // By id, not by order: the two handshakes may finish (and take their ids) in either order.
    const closings = [1, 2].map((id) => nextClose((summary) => summary.id === id));
    for (const [index, client] of clients.entries()) {
      const reader = new ReplyReader(client);
      client.write(frame(`hello ${index}`));
      expect(texts(await reader.until(1))).toEqual([`hello ${index}`]);
      client.end();
    }
    for (const summary of await Promise.all(closings)) {
      expect(summary.reason).toBe('client-closed');
      expect(summary.error?.message).toBe(
        'the handler was still running 300ms after its input ended (--drain-timeout); stopped it',
      );
    }
    expect(Date.now() - started).toBeLessThan(3000);
    expect(server.connections).toBe(0);
    // The slot is free for the next client...
    const next = await connectClient(port);
    const reader = new ReplyReader(next);
    next.write(frame('next'));
    expect(texts(await reader.until(1))).toEqual(['next']);
    // ...and the shells (with their sleep, one process group each) are gone.
    const pids = (await readFile(join(dir, 'pids'), 'utf8')).trim().split('\n').map(Number);
    await until(() => pids.slice(0, 2).every((pid) => !isAlive(pid)), 3000);
  });

  test('the child sees who the client is in CGI-style variables', async () => {
    const { port } = await startServer({ handler: 'exec:echo "$REMOTE_ADDR $SSL_PROTOCOL"; cat' });
    const socket = await connectClient(port);
    const reader = new ReplyReader(socket);
    expect(texts(await reader.until(1))).toEqual([`127.0.0.1 ${socket.getProtocol()}`]);
    socket.end();
    await once(socket, 'close');
  });
});

function header(length: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(length);
  return bytes;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// A process that is not our child gives no event when it dies: poll, within a bound.
async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
