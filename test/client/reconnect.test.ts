import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import type { FramedClient } from '../../src/client/framed-client.js';
import { backoffDelay, isRetryable, MAX_RECONNECT_DELAY_MS, reconnect } from '../../src/client/reconnect.js';
import {
  ConnectionError,
  ProtocolError,
  TimeoutError,
  TlsFailureError,
  type TlsechoError,
} from '../../src/errors.js';
import { ExitCode } from '../../src/exit-codes.js';
import { createLogger } from '../../src/log/logger.js';

const policy = { maxAttempts: 10, initialDelayMs: 100 };

describe('backoffDelay', () => {
  test.each([
    // attempt, random, delay: half of the step is fixed, half is jitter
    [1, 0, 50],
    [1, 0.999999, 100],
    [2, 0, 100],
    [3, 0.5, 300],
    [4, 0, 400],
    // capped: 100 ms × 2^6 = 6.4 s is above the 5 s cap
    [7, 0, MAX_RECONNECT_DELAY_MS / 2],
    [7, 0.999999, MAX_RECONNECT_DELAY_MS],
    [1000, 0.999999, MAX_RECONNECT_DELAY_MS],
  ])('attempt %i with random %f waits %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, policy, () => random)).toBe(expected);
  });

  test('an initial delay above the cap is kept, not cut down', () => {
    expect(backoffDelay(3, { maxAttempts: 1, initialDelayMs: 8_000 }, () => 0.999999)).toBe(8_000);
  });
});

describe('isRetryable', () => {
  test.each<[string, TlsechoError, boolean]>([
    ['refused', new ConnectionError('refused', { code: 'ERR_CONNECTION_REFUSED' }), true],
    ['closed by the server', new ConnectionError('closed', { code: 'ERR_CONNECTION_CLOSED' }), true],
    ['connect timeout', new TimeoutError('timed out'), true],
    ['closed during the handshake', new TlsFailureError('reset', { code: 'ERR_HANDSHAKE_RESET' }), true],
    ['pin mismatch', new TlsFailureError('pin', { code: 'ERR_PIN_MISMATCH' }), false],
    ['untrusted', new TlsFailureError('untrusted', { code: 'ERR_CERT_UNTRUSTED' }), false],
    ['bad frame', new ProtocolError('bad frame'), false],
  ])('%s: %s', (_, error, expected) => {
    expect(isRetryable(error)).toBe(expected);
  });
});

function memoryLog() {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return {
    log: createLogger(stream, { color: false }),
    lines: () => chunks.join('').split('\n').filter(Boolean),
  };
}

const refused = () => new ConnectionError('connection refused by h:1', { code: 'ERR_CONNECTION_REFUSED' });
const dropped = new ConnectionError('h:1 closed the connection', { code: 'ERR_CONNECTION_CLOSED' });
const fakeClient = {} as FramedClient;

describe('reconnect', () => {
  test('one line per attempt with its number, delay and the last failure; resolves with the new client', async () => {
    const { log, lines } = memoryLog();
    let calls = 0;
    const dial = () => (++calls < 3 ? Promise.reject(refused()) : Promise.resolve(fakeClient));
    const result = await reconnect(dial, dropped, {
      policy: { maxAttempts: 5, initialDelayMs: 2 },
      target: 'h:1',
      log,
      random: () => 0,
    });
    expect(result).toEqual({ client: fakeClient, attempts: 3 });
    expect(lines()).toEqual([
      'reconnecting to h:1 (attempt 1 of 5 in 1ms): h:1 closed the connection',
      'reconnecting to h:1 (attempt 2 of 5 in 2ms): connection refused by h:1',
      'reconnecting to h:1 (attempt 3 of 5 in 4ms): connection refused by h:1',
    ]);
  });

  test('gives up after maxAttempts with the class, code and exit code of the last failure', async () => {
    const { log, lines } = memoryLog();
    const error = await reconnect(() => Promise.reject(refused()), dropped, {
      policy: { maxAttempts: 2, initialDelayMs: 1 },
      target: 'h:1',
      log,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({
      code: 'ERR_CONNECTION_REFUSED',
      exitCode: ExitCode.CONNECT,
      message: 'gave up reconnecting to h:1 after 2 attempts: connection refused by h:1',
    });
    expect(lines()).toHaveLength(2);
  });

  test('a failure that retrying cannot cure ends it at the first attempt, even with no limit', async () => {
    const { log, lines } = memoryLog();
    const pin = new TlsFailureError('certificate of h:1 does not match the pin', {
      code: 'ERR_PIN_MISMATCH',
    });
    const error = await reconnect(() => Promise.reject(pin), dropped, {
      policy: { maxAttempts: 0, initialDelayMs: 1 },
      target: 'h:1',
      log,
    }).catch((e: unknown) => e);
    expect(error).toBe(pin);
    expect(lines()).toEqual(['reconnecting to h:1 (attempt 1 in 1ms): h:1 closed the connection']);
  });

  test('an abort (--timeout, Ctrl-C) ends the waiting with its reason', async () => {
    const { log } = memoryLog();
    const controller = new AbortController();
    const deadline = new TimeoutError('session with h:1 timed out after 1s (--timeout)');
    const waiting = reconnect(() => Promise.reject(refused()), dropped, {
      policy: { maxAttempts: 0, initialDelayMs: 60_000 },
      target: 'h:1',
      log,
      signal: controller.signal,
    });
    controller.abort(deadline);
    await expect(waiting).rejects.toBe(deadline);
  });
});
