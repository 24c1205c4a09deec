import { lstat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { isInteractive, type Io } from '../io.js';
import {
  fingerprintOf,
  keyMatchesCertificate,
  loadCertificateBundle,
  loadPrivateKey,
  type LoadedCertificate,
} from '../certs/inspect.js';
import { FileError, isTlsechoError } from '../errors.js';
import { readPassphraseFile } from '../certs/passphrase.js';
import { checkCertKeyPair } from '../tls/options.js';

/** Where `serve` looks for a certificate when given none: what `tlsecho gencert` writes by default. */
const DEFAULT_CERT_FILE = join('certs', 'server.crt');
const DEFAULT_KEY_FILE = join('certs', 'server.key');

/** Paths as the user gave them, relative to the working directory. */
interface CredentialPaths {
  cert?: string;
  key?: string;
  keyPassphraseFile?: string;
  caChain?: string;
  clientCa?: string;
  /** Prompts are off with --json even on a terminal. */
  json?: boolean;
}

/** PEM texts for createServer. No cert and key means: make an ephemeral one. */
export interface ServerCredentials {
  cert?: string;
  key?: string;
  passphrase?: string;
  caChain?: string;
  clientCa?: string;
  /** Which files the certificate and key came from, for the log. */
  certFile?: string;
  /** How many certificates are sent after the server's own (from the --cert file and --ca-chain). */
  chainLength?: number;
  keyFile?: string;
}

/**
 * Reads the server's certificate and key (the given ones, else ./certs/server.crt and server.key when
 * both exist; one without the other is a FileError naming the missing one), the chain and the client CA. Every failure is a FileError naming the file. An encrypted key
 * takes its passphrase from `keyPassphraseFile`, or asks for it when a person is at a terminal.
 */
export async function loadServerCredentials(paths: CredentialPaths, io: Io): Promise<ServerCredentials> {
  checkCertKeyPair(paths.cert, paths.key);
  let certFile = paths.cert;
  let keyFile = paths.key;
  if (certFile === undefined && (await defaultPairExists(io))) {
    certFile = DEFAULT_CERT_FILE;
    keyFile = DEFAULT_KEY_FILE;
  }
  const credentials: ServerCredentials = {};
  const sent = new Set<string>();
  if (certFile !== undefined && keyFile !== undefined) {
    // A full-chain file (leaf, then intermediates: what nginx's ssl_certificate and HAProxy's crt take) is
    // sent whole; clients that trust only the root need the intermediates to build a path to it.
    const chain = await loadCertificateBundle(pathIn(io, certFile), 'certificate', undefined, SWAP_HINT);
    const passphrase =
      paths.keyPassphraseFile === undefined ? undefined : await readPassphrase(io, paths.keyPassphraseFile);
    const key = await loadKey(io, keyFile, passphrase, paths.json ?? false);
    checkKeyMatchesLeaf(chain, key.key, certFile, keyFile);
    credentials.cert = chain.map((entry) => entry.pem).join('');
    credentials.chainLength = chain.length - 1;
    for (const entry of chain) sent.add(fingerprintOf(entry.cert.raw));
    credentials.key = key.pem;
    if (key.passphrase !== undefined) credentials.passphrase = key.passphrase;
    credentials.certFile = certFile;
    credentials.keyFile = keyFile;
  }
  if (paths.caChain !== undefined) {
    const chain = await loadCertificateBundle(pathIn(io, paths.caChain), 'certificate chain');
    // A certificate already in the --cert file is not sent twice.
    const extra = chain.filter((entry) => !sent.has(fingerprintOf(entry.cert.raw)));
    if (extra.length > 0) credentials.caChain = extra.map((entry) => entry.pem).join('');
    credentials.chainLength = (credentials.chainLength ?? 0) + extra.length;
  }
  if (paths.clientCa !== undefined) {
    const cas = await loadCertificateBundle(pathIn(io, paths.clientCa), 'CA certificate');
    credentials.clientCa = cas.map((entry) => entry.pem).join('');
  }
  return credentials;
}

// The key belongs to the first certificate of the file, the one the server presents. A file whose leaf
// comes later (intermediates first) would make TLS present the wrong certificate: say so instead.
function checkKeyMatchesLeaf(
  chain: LoadedCertificate[],
  key: KeyObject,
  certFile: string,
  keyFile: string,
): void {
  const [leaf, ...rest] = chain;
  if (leaf !== undefined && keyMatchesCertificate(leaf.pem, key)) return;
  const position = rest.findIndex((entry) => keyMatchesCertificate(entry.pem, key));
  if (position >= 0) {
    throw new FileError(
      `${keyFile} belongs to certificate ${position + 2} of ${certFile}, not the first: the server's own certificate must come first, then its chain`,
      { code: 'ERR_KEY_MISMATCH' },
    );
  }
  throw new FileError(`${keyFile} is not the private key of ${certFile}`, {
    code: 'ERR_KEY_MISMATCH',
    hint: 'pass the key that was made with this certificate',
  });
}

async function loadKey(
  io: Io,
  keyFile: string,
  passphrase: string | undefined,
  json: boolean,
): Promise<{ pem: string; key: KeyObject; passphrase?: string }> {
  const path = pathIn(io, keyFile);
  try {
    const loaded = await loadPrivateKey(path, { passphrase, swapHint: SWAP_HINT });
    return { pem: loaded.pem, key: loaded.key, passphrase };
  } catch (error) {
    const encrypted = isTlsechoError(error) && error.code === 'ERR_KEY_ENCRYPTED';
    if (!encrypted) throw error;
    if (io.promptPassword === undefined || !isInteractive(io, { json })) {
      throw new FileError(`${keyFile} is encrypted and no passphrase was given`, {
        code: 'ERR_KEY_ENCRYPTED',
        hint: 'pass --key-passphrase-file FILE',
        cause: error,
      });
    }
  }
  const asked = await io.promptPassword(`Passphrase for ${keyFile}:`);
  const loaded = await loadPrivateKey(path, { passphrase: asked, swapHint: SWAP_HINT });
  return { pem: loaded.pem, key: loaded.key, passphrase: asked };
}

// For a --cert that holds a key, or a --key that holds a certificate.
const SWAP_HINT = 'did you swap --cert and --key?';

function readPassphrase(io: Io, file: string): Promise<string> {
  return readPassphraseFile(pathIn(io, file), file);
}

// Both default files: use them; neither: an ephemeral certificate. One without the other is what an
// interrupted gencert (or a half-finished copy) leaves, and falling back would hide it: stop and say which
// file is missing.
async function defaultPairExists(io: Io): Promise<boolean> {
  const [hasCert, hasKey] = await Promise.all(
    [DEFAULT_CERT_FILE, DEFAULT_KEY_FILE].map((file) => exists(io, file)),
  );
  if (hasCert && hasKey) return true;
  if (!hasCert && !hasKey) return false;
  const [present, missing] = hasCert
    ? [DEFAULT_CERT_FILE, DEFAULT_KEY_FILE]
    : [DEFAULT_KEY_FILE, DEFAULT_CERT_FILE];
  throw new FileError(
    `${missing} is missing, so ${present} cannot be used (make both again with tlsecho gencert --force, or pass --cert and --key)`,
    { code: 'ERR_INCOMPLETE_CREDENTIALS' },
  );
}

// Only "not there" counts as missing; a file that exists but cannot be read fails later with its reason.
async function exists(io: Io, file: string): Promise<boolean> {
  try {
    await lstat(pathIn(io, file));
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

// Relative paths are relative to io.cwd; when that is the process's directory the path is kept as the user
// typed it, so error messages show it the same way.
function pathIn(io: Io, file: string): string {
  if (isAbsolute(file) || io.cwd === process.cwd()) return file;
  return resolve(io.cwd, file);
}
