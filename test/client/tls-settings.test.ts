import { createPrivateKey } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { connectFramed } from '../../src/client/dial.js';
import { loadClientTlsSettings } from '../../src/client/tls-settings.js';
import { FileError } from '../../src/errors.js';
import { startTestServer } from './helpers/framed-server.js';
import { makeTestPki } from './helpers/pki.js';

describe('loadClientTlsSettings', () => {
  test('reads --ca, --cert and --key relative to the working directory', async () => {
    const pki = await makeTestPki();
    const settings = await loadClientTlsSettings(
      { caFiles: ['ca.crt'], certFile: 'client.crt', keyFile: 'client.key', servername: 'localhost' },
      pki.dir,
    );
    expect(settings.ca).toEqual([pki.caPem]);
    expect(settings.cert).toBe(pki.client.certPem);
    expect(settings.servername).toBe('localhost');
    expect(settings.key).toContain('PRIVATE KEY');
  });

  test('passes no files through untouched, and reads none', async () => {
    expect(
      await loadClientTlsSettings({ pin: 'sha256:x', insecure: false, minTls: '1.3' }, '/nonexistent'),
    ).toEqual({
      pin: 'sha256:x',
      minTls: '1.3',
    });
  });

  test('a missing --ca file is a file error naming it', async () => {
    const pki = await makeTestPki();
    const error = await loadClientTlsSettings({ caFiles: ['nope.crt'] }, pki.dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileError);
    expect((error as Error).message).toContain('nope.crt');
  });

  test('a key given as --ca is refused saying what the file holds; there is no --cert to have swapped', async () => {
    const pki = await makeTestPki();
    const error = await loadClientTlsSettings({ caFiles: [pki.client.keyFile] }, pki.dir).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FileError);
    expect((error as FileError).message).toMatch(/is not a CA certificate \(--ca\): .*PRIVATE KEY/);
    expect((error as FileError).hint).toBeUndefined();
  });

  test('--cert and --key given the other way round are refused with a hint naming the two flags', async () => {
    const pki = await makeTestPki();
    const swapped = { certFile: pki.client.keyFile, keyFile: pki.client.certFile };
    const error = await loadClientTlsSettings(swapped, pki.dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileError);
    expect((error as FileError).hint).toBe('did you swap --cert and --key?');
    const upstream = await loadClientTlsSettings(
      {
        ...swapped,
        flagNames: {
          cert: '--upstream-cert',
          key: '--upstream-key',
          keyPassphraseFile: '--upstream-key-passphrase-file',
        },
      },
      pki.dir,
    ).catch((e: unknown) => e);
    expect((upstream as FileError).hint).toBe('did you swap --upstream-cert and --upstream-key?');
  });

  test('a --key that does not belong to --cert is refused before connecting', async () => {
    const pki = await makeTestPki();
    await expect(
      loadClientTlsSettings({ certFile: pki.client.certFile, keyFile: pki.server.keyFile }, pki.dir),
    ).rejects.toThrow(`${pki.server.keyFile} is not the private key of ${pki.client.certFile}`);
  });

  test('an encrypted --key opens with --key-passphrase-file and is presented to an mTLS server', async () => {
    const pki = await makeTestPki();
    const encrypted = createPrivateKey(pki.client.keyPem).export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'correct horse',
    });
    await writeFile(join(pki.dir, 'locked.key'), encrypted, { mode: 0o600 });
    await writeFile(join(pki.dir, 'passphrase'), 'correct horse\n', { mode: 0o600 });
    await writeFile(join(pki.dir, 'wrong'), 'battery staple\n', { mode: 0o600 });

    await expect(
      loadClientTlsSettings({ certFile: 'client.crt', keyFile: 'locked.key' }, pki.dir),
    ).rejects.toThrow(/locked\.key is encrypted and no passphrase was given/);
    await expect(
      loadClientTlsSettings(
        { certFile: 'client.crt', keyFile: 'locked.key', keyPassphraseFile: 'wrong' },
        pki.dir,
      ),
    ).rejects.toThrow(/wrong passphrase/);

    const settings = await loadClientTlsSettings(
      { caFiles: ['ca.crt'], certFile: 'client.crt', keyFile: 'locked.key', keyPassphraseFile: 'passphrase' },
      pki.dir,
    );
    expect(settings.passphrase).toBe('correct horse');
    const server = await startTestServer({
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      clientCa: pki.caPem,
    });
    const client = await connectFramed({ host: '127.0.0.1', port: server.port, tls: settings });
    onTestFinished(() => client.destroy());
    await client.send(Buffer.from('locked and loaded'));
    const peer = await server.nextPeer();
    for await (const reply of client) {
      expect(reply.toString()).toBe('locked and loaded');
      break;
    }
    expect(peer.socket.getPeerCertificate().subject.CN).toBe('test client');
  });
});
