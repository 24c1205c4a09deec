import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCa, issueCertificate } from '../../../src/certs/generate.js';

/** A CA and a server certificate it issued for localhost and 127.0.0.1, in memory and on disk. */
export interface HostilePki {
  dir: string;
  caPem: string;
  caFile: string;
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
  /** Deletes the folder; for `afterAll`. */
  remove(): Promise<void>;
}

/**
 * Made with our own generator, once per test file (key generation is the slow part). Clients verify the
 * server against `caPem`: no test here turns verification off.
 */
export async function createPki(): Promise<HostilePki> {
  const ca = await generateCa({ cn: 'tlsecho hostile-suite CA' });
  const server = await issueCertificate({ issuer: ca, kind: 'server', hosts: ['localhost', '127.0.0.1'] });
  const dir = await mkdtemp(join(tmpdir(), 'tlsecho-hostile-'));
  const caFile = join(dir, 'ca.crt');
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  await writeFile(caFile, ca.certPem);
  await writeFile(certFile, server.certPem);
  await writeFile(keyFile, server.keyPem, { mode: 0o600 });
  return {
    dir,
    caPem: ca.certPem,
    caFile,
    certPem: server.certPem,
    keyPem: server.keyPem,
    certFile,
    keyFile,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
