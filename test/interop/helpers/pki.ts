import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BIN, cliEnv } from '../../helpers/run-cli.js';

const run = promisify(execFile);

export interface CertPair {
  certFile: string;
  keyFile: string;
}

/** Every certificate of the interop suite, made by the real `tlsecho gencert` from one local CA. */
export interface InteropPki {
  dir: string;
  caFile: string;
  /** What `tlsecho serve` presents: localhost, 127.0.0.1, ::1. */
  tlsechoServer: CertPair;
  /** What the OTP server presents: the same names, its own key. */
  otpServer: CertPair;
  /** tlsecho's client certificate (CN alice), for OTP servers that demand one. */
  tlsechoClient: CertPair;
  /** The OTP client's certificate (CN otp-client), for `tlsecho serve --client-ca`. */
  otpClient: CertPair;
  /** Removes the folder. */
  remove(): Promise<void>;
}

async function gencert(dir: string, args: string[]): Promise<void> {
  await run(process.execPath, [BIN, 'gencert', '--out', dir, '--yes', ...args], { env: cliEnv() });
}

/** A CA and four leaves in a fresh temp folder: run once per test file (beforeAll), removed in afterAll. */
export async function makeInteropPki(): Promise<InteropPki> {
  const dir = await mkdtemp(join(tmpdir(), 'tlsecho-interop-'));
  const pair = (name: string): CertPair => ({
    certFile: join(dir, `${name}.crt`),
    keyFile: join(dir, `${name}.key`),
  });
  await gencert(dir, ['--ca']);
  await Promise.all([
    gencert(dir, ['--issuer', dir, '--name', 'tlsecho-server']),
    gencert(dir, ['--issuer', dir, '--name', 'otp-server']),
    gencert(dir, ['--issuer', dir, '--client', '--name', 'alice', '--cn', 'alice']),
    gencert(dir, ['--issuer', dir, '--client', '--name', 'otp-client', '--cn', 'otp-client']),
  ]);
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    tlsechoServer: pair('tlsecho-server'),
    otpServer: pair('otp-server'),
    tlsechoClient: pair('alice'),
    otpClient: pair('otp-client'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
