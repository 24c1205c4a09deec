import { expect, test } from 'vitest';
import { ReadRelay } from '../../src/bench/read-relay.js';

// The relay's callback is what Node calls with each read; calling it here is calling it as the socket does.
function read(relay: ReadRelay, text: string): void {
  const buffer = relay.options.buffer as Buffer;
  const length = buffer.write(text, 'latin1');
  relay.options.callback(length, buffer);
}

test('hands each read to the attached handler as a view of the one reused buffer', () => {
  const relay = new ReadRelay();
  const seen: string[] = [];
  const buffers = new Set<ArrayBufferLike>();
  relay.attach((chunk) => {
    seen.push(chunk.toString('latin1'));
    buffers.add(chunk.buffer);
  });
  read(relay, 'first');
  read(relay, 'second read');
  expect(seen).toEqual(['first', 'second read']);
  expect(buffers.size).toBe(1);
});

test('keeps copies of what arrives before a handler is attached, and delivers them first, in order', () => {
  const relay = new ReadRelay();
  read(relay, 'hello');
  read(relay, 'again');
  // The reused buffer now holds the next read: the kept bytes must not have changed with it.
  const seen: string[] = [];
  relay.attach((chunk) => seen.push(chunk.toString('latin1')));
  read(relay, 'later');
  expect(seen).toEqual(['hello', 'again', 'later']);
});
