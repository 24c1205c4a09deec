// Real TLS on 127.0.0.1 with generated certificates and verification ON (the Node defaults).
import { beforeAll, describe, expect, test } from 'vitest';
import {
  generateCa,
  generateSelfSigned,
  issueCertificate,
  type GeneratedCertificate,
} from '../../src/certs/generate.js';
import { handshake } from './handshake.js';

let ca: GeneratedCertificate;
let selfSigned: GeneratedCertificate;
let server: GeneratedCertificate;
let client: GeneratedCertificate;
let strangerClient: GeneratedCertificate;

beforeAll(async () => {
  ca = await generateCa({ cn: 'Test CA' });
  [selfSigned, server, client, strangerClient] = await Promise.all([
    generateSelfSigned(),
    issueCertificate({ issuer: ca, kind: 'server' }),
    issueCertificate({ issuer: ca, kind: 'client', cn: 'alice' }),
    issueCertificate({ issuer: await generateCa({ cn: 'Other CA' }), kind: 'client', cn: 'mallory' }),
  ]);
});

describe('server certificates, checked by a client with hostname verification', () => {
  test.each([
    ['self-signed, trusted as its own CA, for localhost', () => selfSigned, () => selfSigned, 'localhost'],
    ['self-signed, trusted as its own CA, for 127.0.0.1', () => selfSigned, () => selfSigned, undefined],
    ['CA-issued, trusting the CA, for localhost', () => server, () => ca, 'localhost'],
    ['CA-issued, trusting the CA, for 127.0.0.1', () => server, () => ca, undefined],
  ])('accepts %s', async (_name, cert, trust, servername) => {
    // Without servername, Node checks the certificate against the host we dialled: 127.0.0.1.
    const outcome = await handshake(
      { cert: cert().certPem, key: cert().keyPem },
      { ca: trust().certPem, ...(servername ? { servername } : {}) },
    );
    expect(outcome.clientError).toBeUndefined();
    expect(outcome.clientOk).toBe(true);
  });

  test('refuses a name the certificate does not cover', async () => {
    const outcome = await handshake({ cert: server.certPem, key: server.keyPem }, { ca: ca.certPem, servername: 'other.test' });
    expect(outcome.clientOk).toBe(false);
    expect(outcome.clientError).toMatch(/Hostname\/IP does not match certificate's altnames/);
  });

  test('refuses a self-signed certificate nobody said to trust', async () => {
    const outcome = await handshake({ cert: selfSigned.certPem, key: selfSigned.keyPem }, { ca: ca.certPem });
    expect(outcome.clientOk).toBe(false);
    expect(outcome.clientError).toMatch(/self[- ]signed certificate/);
  });

  test('refuses a client certificate used as a server certificate', async () => {
    const outcome = await handshake({ cert: client.certPem, key: client.keyPem }, { ca: ca.certPem, servername: 'localhost' });
    expect(outcome.clientOk).toBe(false);
  });
});

describe('client certificates, checked by a server that requires one', () => {
  const mtlsServer = () => ({
    cert: server.certPem,
    key: server.keyPem,
    ca: ca.certPem,
    requestCert: true,
    rejectUnauthorized: true,
  });

  test('accepts a client certificate from the CA and sees its name', async () => {
    const outcome = await handshake(mtlsServer(), {
      ca: ca.certPem,
      servername: 'localhost',
      cert: client.certPem,
      key: client.keyPem,
    });
    expect(outcome.serverError).toBeUndefined();
    expect(outcome.serverAccepted).toBe(true);
    expect(outcome.peerCommonName).toBe('alice');
    expect(outcome.clientOk).toBe(true);
  });

  test.each([
    ['a self-signed client certificate', () => selfSigned],
    ['a client certificate from another CA', () => strangerClient],
    ['a server certificate (serverAuth only) from the same CA', () => server],
  ])('refuses %s', async (_name, cert) => {
    const outcome = await handshake(mtlsServer(), {
      ca: ca.certPem,
      servername: 'localhost',
      cert: cert().certPem,
      key: cert().keyPem,
    });
    expect(outcome.serverAccepted).toBe(false);
    expect(outcome.serverError).toBeDefined();
    expect(outcome.clientOk).toBe(false);
  });

  test('refuses a client without a certificate', async () => {
    const outcome = await handshake(mtlsServer(), { ca: ca.certPem, servername: 'localhost' });
    expect(outcome.serverAccepted).toBe(false);
    expect(outcome.clientOk).toBe(false);
  });
});
