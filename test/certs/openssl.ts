// Runs the openssl binary, the independent judge of what the generator makes. Tests only; tlsecho itself
// never shells out to openssl.
import { execFile } from 'node:child_process';

export interface OpensslResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function openssl(args: string[], options: { input?: string } = {}): Promise<OpensslResult> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
    child.stdin?.end(options.input);
  });
}

/** The public key of a certificate, as openssl prints it. */
export async function certPublicKey(certFile: string): Promise<string> {
  const r = await openssl(['x509', '-in', certFile, '-noout', '-pubkey']);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout;
}

/** The public key derived from a private key file, as openssl prints it. */
export async function keyPublicKey(keyFile: string): Promise<string> {
  const r = await openssl(['pkey', '-in', keyFile, '-pubout']);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout;
}
