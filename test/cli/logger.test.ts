import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { createLogger, type LoggerOptions } from '../../src/cli/io.js';

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
