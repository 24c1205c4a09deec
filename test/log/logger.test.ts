import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { createLogger, type LoggerOptions } from '../../src/log/logger.js';

function logTo(options: LoggerOptions) {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const lines = () =>
    Buffer.concat(chunks)
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '');
  return { log: createLogger(stream, options), lines };
}

describe('createLogger', () => {
  test('--json: one JSON object per line, with time, level, message and the fields', () => {
    const { log, lines } = logTo({ json: true, base: { worker: 2 } });
    log.info('[#7] accepted 127.0.0.1:5000', { event: 'accepted', id: 7, client: undefined });
    const [line] = lines().map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(line).toMatchObject({
      level: 'info',
      msg: '[#7] accepted 127.0.0.1:5000',
      event: 'accepted',
      id: 7,
    });
    expect(line).toHaveProperty('worker', 2);
    expect(Number.isNaN(Date.parse(line!.time as string))).toBe(false);
  });

  test('--json: a bigint field is written as its digits instead of making the log line throw', () => {
    const { log, lines } = logTo({ json: true });
    log.warn('big', { bytes: 2n ** 64n, nested: { count: 1n } });
    expect(JSON.parse(lines()[0]!)).toMatchObject({ bytes: '18446744073709551616', nested: { count: '1' } });
  });

  test('lines below the level are not written; errors and warnings are prefixed in text mode', () => {
    const { log, lines } = logTo({ level: 'warn' });
    log.info('hidden');
    log.warn('careful');
    log.error('broken');
    expect(lines()).toEqual(['tlsecho: warning: careful', 'tlsecho: broken']);
  });
});

describe('createLogger with coalesceMs', () => {
  // Counts the stream's writes, which is what coalescing saves.
  function countingLog(options: LoggerOptions) {
    const stream = new PassThrough();
    let writes = 0;
    let text = '';
    stream.on('data', (chunk: Buffer) => {
      writes += 1;
      text += chunk.toString('utf8');
    });
    const log = createLogger(stream, options);
    return { log, writes: () => writes, text: () => text };
  }

  test('batched info lines within the window share one write; the logger itself never waits', async () => {
    const { log, writes, text } = countingLog({ coalesceMs: 40 });
    log.batched.info('[#1] accepted');
    log.batched.info('[#1] closed');
    log.batched.info('[#2] accepted');
    await new Promise((resolve) => setImmediate(resolve));
    expect(text()).toBe('[#1] accepted\n');
    // The server's own line goes out now, after what waited before it.
    log.info('shutting down');
    await new Promise((resolve) => setImmediate(resolve));
    expect(text()).toBe('[#1] accepted\n[#1] closed\n[#2] accepted\nshutting down\n');
    expect(writes()).toBe(2);
  });

  test('batched warnings and errors do not wait', async () => {
    const { log, text } = countingLog({ coalesceMs: 60_000 });
    log.batched.info('[#1] accepted');
    log.batched.info('[#2] accepted');
    log.batched.warn('refused 127.0.0.1:5000');
    await new Promise((resolve) => setImmediate(resolve));
    expect(text()).toBe('[#1] accepted\n[#2] accepted\ntlsecho: warning: refused 127.0.0.1:5000\n');
  });

  test('flush writes what waits, as serve does before it returns and at process exit', async () => {
    const { log, text } = countingLog({ coalesceMs: 60_000, json: true });
    log.batched.info('one', { event: 'accepted' });
    log.batched.info('two', { event: 'closed' });
    log.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(
      text()
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { msg: string }).msg),
    ).toEqual(['one', 'two']);
  });

  test('without coalesceMs, batched is the logger itself', () => {
    const { log } = countingLog({});
    expect(log.batched).toBe(log);
  });
});
