import { createPrivateKey } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { FileError, UsageError } from '../../src/errors.js';
import { loadServerCredentials } from '../../src/server/credentials.js';
import { createMemoryIo } from '../helpers/memory-io.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { testPki } from './helpers/fixture.js';

// The prompt seam: the CLI hands library code a password prompt as a member of Io; the tests hand a fake.
const promptPassword = vi.fn<(message: string) => Promise<string>>();
const terminalIo = (cwd: string) => ({ ...createMemoryIo({ cwd, tty: true }), promptPassword });

beforeEach(() => {
  promptPassword.mockReset();
});

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await makeTempDir();
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text, { mode: 0o600 });
  }
  return dir;
}

async function encryptedKey(passphrase: string): Promise<string> {
  const pki = await testPki();
  return createPrivateKey(pki.server.keyPem)
    .export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase })
    .toString();
}

describe('loadServerCredentials', () => {
  test('nothing given and no certs/ folder: nothing loaded, so the server makes an ephemeral certificate', async () => {
    const dir = await dirWith({});
    expect(await loadServerCredentials({}, createMemoryIo({ cwd: dir }))).toEqual({});
  });

  test('certs/server.crt and server.key are used when both exist; one without the other names the missing one', async () => {
    const pki = await testPki();
    const onlyCert = await dirWith({ 'certs/server.crt': pki.server.certPem });
    await expect(loadServerCredentials({}, createMemoryIo({ cwd: onlyCert }))).rejects.toThrow(
      `${join('certs', 'server.key')} is missing, so ${join('certs', 'server.crt')} cannot be used`,
    );
    const onlyKey = await dirWith({ 'certs/server.key': pki.server.keyPem });
    await expect(loadServerCredentials({}, createMemoryIo({ cwd: onlyKey }))).rejects.toThrow(
      `${join('certs', 'server.crt')} is missing, so ${join('certs', 'server.key')} cannot be used`,
    );
    const both = await dirWith({
      'certs/server.crt': pki.server.certPem,
      'certs/server.key': pki.server.keyPem,
    });
    const loaded = await loadServerCredentials({}, createMemoryIo({ cwd: both }));
    expect(loaded).toMatchObject({
      certFile: join('certs', 'server.crt'),
      keyFile: join('certs', 'server.key'),
    });
    expect(loaded.cert).toContain('BEGIN CERTIFICATE');
  });

  test('a key that belongs to another certificate is refused, naming both files', async () => {
    const pki = await testPki();
    const dir = await dirWith({ 'a.crt': pki.server.certPem, 'b.key': pki.client.keyPem });
    const loading = loadServerCredentials({ cert: 'a.crt', key: 'b.key' }, createMemoryIo({ cwd: dir }));
    await expect(loading).rejects.toThrow('b.key is not the private key of a.crt');
    await expect(loading).rejects.toMatchObject({ code: 'ERR_KEY_MISMATCH', exitCode: 3 });
  });

  test('--cert and --key the other way round: a file error with a hint; a key as --client-ca: no hint', async () => {
    const pki = await testPki();
    const dir = await dirWith({ 's.crt': pki.server.certPem, 's.key': pki.server.keyPem });
    const swapped = await loadServerCredentials(
      { cert: 's.key', key: 's.crt' },
      createMemoryIo({ cwd: dir }),
    ).catch((e: unknown) => e);
    expect(swapped).toBeInstanceOf(FileError);
    expect((swapped as FileError).hint).toBe('did you swap --cert and --key?');
    const clientCa = await loadServerCredentials(
      { cert: 's.crt', key: 's.key', clientCa: 's.key' },
      createMemoryIo({ cwd: dir }),
    ).catch((e: unknown) => e);
    expect(clientCa).toBeInstanceOf(FileError);
    expect((clientCa as FileError).hint).toBeUndefined();
  });

  test('--cert without --key is a usage error', async () => {
    await expect(loadServerCredentials({ cert: 'a.crt' }, createMemoryIo())).rejects.toBeInstanceOf(
      UsageError,
    );
  });

  test('an encrypted key on a terminal asks for its passphrase', async () => {
    const pki = await testPki();
    const dir = await dirWith({ 's.crt': pki.server.certPem, 's.key': await encryptedKey('open sesame') });
    promptPassword.mockResolvedValue('open sesame');
    const loaded = await loadServerCredentials({ cert: 's.crt', key: 's.key' }, terminalIo(dir));
    expect(promptPassword).toHaveBeenCalledWith('Passphrase for s.key:');
    expect(loaded.passphrase).toBe('open sesame');
  });

  test('a wrong passphrase typed at the prompt is a file error, not a crash', async () => {
    const pki = await testPki();
    const dir = await dirWith({ 's.crt': pki.server.certPem, 's.key': await encryptedKey('open sesame') });
    promptPassword.mockResolvedValue('guess');
    const loading = loadServerCredentials({ cert: 's.crt', key: 's.key' }, terminalIo(dir));
    await expect(loading).rejects.toThrow(
      /cannot read private key .*s\.key: wrong passphrase or damaged key/,
    );
  });

  test('with --json there is no prompt even on a terminal', async () => {
    const pki = await testPki();
    const dir = await dirWith({ 's.crt': pki.server.certPem, 's.key': await encryptedKey('x') });
    const loading = loadServerCredentials({ cert: 's.crt', key: 's.key', json: true }, terminalIo(dir));
    await expect(loading).rejects.toThrow('s.key is encrypted and no passphrase was given');
    expect(promptPassword).not.toHaveBeenCalled();
  });

  test('--ca-chain and --client-ca bundles are read whole', async () => {
    const pki = await testPki();
    const dir = await dirWith({
      'chain.pem': pki.ca.certPem + pki.ca.certPem,
      'clients.pem': pki.ca.certPem,
    });
    const loaded = await loadServerCredentials(
      { caChain: 'chain.pem', clientCa: 'clients.pem' },
      createMemoryIo({ cwd: dir }),
    );
    expect(loaded.caChain?.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(loaded.clientCa?.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
  });
});
