import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { checkCertKeyPair } from '../../src/tls/options.js';
import { createServer } from '../../src/server/server.js';

describe('checkCertKeyPair: a certificate and its key go together', () => {
  test.each([
    [undefined, undefined],
    ['a.crt', 'a.key'],
  ])('cert %j with key %j is accepted', (cert, key) => {
    expect(() => checkCertKeyPair(cert, key)).not.toThrow();
  });

  test.each([
    ['a.crt', undefined],
    [undefined, 'a.key'],
  ])('cert %j with key %j is a usage error naming both flags', (cert, key) => {
    expect(() => checkCertKeyPair(cert, key)).toThrow(
      new UsageError('--cert and --key go together: pass both or neither'),
    );
  });

  test('the library says it with its own option names: createServer with a cert and no key does not listen', async () => {
    const server = createServer({ host: '127.0.0.1', port: 0, cert: 'PEM' });
    await expect(server.listen()).rejects.toThrow(
      new UsageError('cert and key go together: pass both or neither'),
    );
  });
});
