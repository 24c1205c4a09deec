import { resolve } from 'node:path';
import { readPassphraseFile } from '../certs/passphrase.js';
import { FileError } from '../errors.js';
import type { ClientTlsSettings, MinTlsVersion } from '../tls/options.js';
import type { Logger } from '../log/logger.js';

/** The client TLS flags as given: file paths, not contents (reading them is `loadClientTlsSettings`'s job). */
export interface ClientTlsFlags {
  caFiles?: string[];
  /** Already normalised by `parsePin`. */
  pin?: string;
  insecure?: boolean;
  servername?: string;
  certFile?: string;
  keyFile?: string;
  keyPassphraseFile?: string;
  minTls?: MinTlsVersion;
  maxTls?: MinTlsVersion;
  /** Already checked by `parseCiphers`. */
  ciphers?: string;
  alpn?: string[];
  /** The flags the files came from, for messages (default --cert, --key, --key-passphrase-file). */
  flagNames?: ClientTlsFlagNames;
}

export interface ClientTlsFlagNames {
  cert: string;
  key: string;
  keyPassphraseFile: string;
}

const CLIENT_FLAG_NAMES: ClientTlsFlagNames = {
  cert: '--cert',
  key: '--key',
  keyPassphraseFile: '--key-passphrase-file',
};

/**
 * Reads the files named by the flags (relative to `cwd`) into PEM texts, checking each one on the way so that
 * a wrong file fails here with its path, rather than later as an obscure OpenSSL error.
 */
export async function loadClientTlsSettings(flags: ClientTlsFlags, cwd: string): Promise<ClientTlsSettings> {
  const settings: ClientTlsSettings = {};
  if (flags.pin !== undefined) settings.pin = flags.pin;
  if (flags.insecure) settings.insecure = true;
  if (flags.servername !== undefined) settings.servername = flags.servername;
  if (flags.minTls !== undefined) settings.minTls = flags.minTls;
  if (flags.maxTls !== undefined) settings.maxTls = flags.maxTls;
  if (flags.ciphers !== undefined) settings.ciphers = flags.ciphers;
  if (flags.alpn && flags.alpn.length > 0) settings.alpn = flags.alpn;
  const caFiles = flags.caFiles ?? [];
  if (caFiles.length === 0 && flags.certFile === undefined) return settings;

  // Certificate parsing pulls in the X.509 library; most runs pass no files and need not pay for it.
  const inspect = await import('../certs/inspect.js');
  if (caFiles.length > 0) {
    const bundles = await Promise.all(
      caFiles.map((file) => inspect.loadCertificateBundle(resolve(cwd, file), 'CA certificate (--ca)')),
    );
    settings.ca = bundles.flat().map((certificate) => certificate.pem);
  }
  if (flags.certFile !== undefined && flags.keyFile !== undefined) {
    const passphrase =
      flags.keyPassphraseFile === undefined
        ? undefined
        : await readPassphraseFile(resolve(cwd, flags.keyPassphraseFile), flags.keyPassphraseFile);
    const certPath = resolve(cwd, flags.certFile);
    const keyPath = resolve(cwd, flags.keyFile);
    const names = flags.flagNames ?? CLIENT_FLAG_NAMES;
    const swapHint = `did you swap ${names.cert} and ${names.key}?`;
    const [chain, key] = await Promise.all([
      inspect.loadCertificateBundle(certPath, `client certificate (${names.cert})`, certPath, swapHint),
      inspect.loadPrivateKey(keyPath, {
        swapHint,
        passphrase,
        what: `client key (${names.key})`,
        encryptedHint: `pass ${names.keyPassphraseFile} FILE`,
      }),
    ]);
    const leaf = chain[0]!;
    if (!inspect.keyMatchesCertificate(leaf.pem, key.key)) {
      throw new FileError(`${flags.keyFile} is not the private key of ${flags.certFile}`, {
        code: 'ERR_KEY_MISMATCH',
      });
    }
    settings.cert = chain.map((certificate) => certificate.pem).join('');
    settings.key = key.pem;
    if (passphrase !== undefined) settings.passphrase = passphrase;
  }
  return settings;
}

// The file holds the passphrase on its first line, as `openssl -passin file:` reads it.

/** Every run with verification off says so on stderr, as Node does for NODE_TLS_REJECT_UNAUTHORIZED=0. */
export function warnIfInsecure(settings: ClientTlsSettings, log: Logger): void {
  if (settings.insecure) {
    log.warn(
      'certificate verification is off (--insecure): anyone between here and the server can read and change this session',
    );
  }
}

/** Every run over plain TCP (`--plain`) says so on stderr, as `--insecure` does. */
export function warnPlain(log: Logger, flag = '--plain'): void {
  log.warn(
    `the connection to the server is not encrypted (${flag}): anyone between here and the server can read and change this session`,
  );
}
