import { isIP } from 'node:net';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { FileError } from '../errors.js';
import { startSpinner, useColor, type Io } from '../io.js';
import { createLogger, type Logger } from '../log/logger.js';
import {
  CERT_FILE_MODE,
  KEY_FILE_MODE,
  checkTargets,
  removeStaleTempFiles,
  writeCertificateSet,
  type OutputFile,
} from './files.js';
import {
  generateCa,
  generateSelfSigned,
  issueCertificate,
  type GeneratedCertificate,
} from './generate.js';
import { DEFAULT_HOSTS } from './hosts.js';
import { loadCertificate, loadPrivateKey } from './inspect.js';
import type { KeyType } from './key-types.js';
import { APPLE_MAX_SERVER_DAYS, DEFAULT_CA_DAYS, DEFAULT_LEAF_DAYS } from './validity.js';

/** What `gencert` makes: a self-signed server certificate, a local CA, or a certificate issued by a CA. */
export const CERTIFICATE_KINDS = ['self-signed', 'ca', 'server', 'client'] as const;
export type CertificateKind = (typeof CERTIFICATE_KINDS)[number];

/** Where `serve` listens by default (SERVER_DEFAULTS, a layer up), for the next-step commands. */
const SERVE_DEFAULT_HOST = '127.0.0.1';
const SERVE_DEFAULT_PORT = 7000;

export interface GencertOptions {
  kind: CertificateKind;
  /** Output folder, relative to `io.cwd` unless absolute. */
  outDir: string;
  /** File base name: NAME.crt, NAME.key and, for issued certificates, NAME.chain.pem. */
  name: string;
  /** DNS names and IP addresses; empty means the default for the kind (loopback names for servers). */
  hosts: string[];
  cn?: string;
  days?: number;
  keyType: KeyType;
  /** The CA that signs `server` and `client` certificates. */
  issuer?: { certPath: string; keyPath: string };
  force: boolean;
  json: boolean;
}

/** What was made and where it went. Paths are absolute. */
interface GencertResult {
  kind: CertificateKind;
  keyType: KeyType;
  files: { cert: string; key: string; chain?: string };
  fingerprint: string;
  subject: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
  /** The CA certificate that signed it, for `server` and `client`. */
  issuer?: string;
}

/**
 * Makes a certificate and its key, writes them (all or nothing, keys 0600), and reports on stderr what was
 * made and the next command to run; with `json`, prints the result as one JSON object on stdout instead.
 */
export async function gencert(options: GencertOptions, io: Io): Promise<GencertResult> {
  const logger = createLogger(io.stderr, { json: options.json, color: useColor(io, { json: options.json }) });
  const outDir = resolve(io.cwd, options.outDir);
  const paths = {
    cert: join(outDir, `${options.name}.crt`),
    key: join(outDir, `${options.name}.key`),
    chain: options.issuer ? join(outDir, `${options.name}.chain.pem`) : undefined,
  };
  const label = (path: string) => displayPath(path, io.cwd);
  const targets = [paths.cert, paths.key, ...(paths.chain ? [paths.chain] : [])];
  // A gencert killed between placing the certificate and the key left temporary files; say which go.
  const stale = await removeStaleTempFiles(targets);
  if (stale.length > 0) {
    logger.warn(`removed ${stale.map(label).join(', ')}, left by a gencert that was interrupted while writing`, {
      event: 'stale-files-removed',
      files: stale,
    });
  }
  if (stale.length > 0 && !options.force) refuseHalfSet(paths.cert, paths.key, label);
  // Refuse before generating anything: an RSA-4096 key is seconds of work to throw away.
  await checkTargets(
    targets.map((path) => ({ path, label: label(path) })),
    { force: options.force },
  );

  const generated = await generateWithSpinner(options, io);
  warnAboutValidity(options.kind, generated, logger);

  const files: OutputFile[] = [
    { path: paths.cert, contents: generated.certPem, mode: CERT_FILE_MODE, label: label(paths.cert) },
    { path: paths.key, contents: generated.keyPem, mode: KEY_FILE_MODE, label: label(paths.key) },
  ];
  if (paths.chain && generated.chainPem) {
    files.push({ path: paths.chain, contents: generated.chainPem, mode: CERT_FILE_MODE, label: label(paths.chain) });
  }
  await writeCertificateSet(files, { force: options.force });

  const result: GencertResult = {
    kind: options.kind,
    keyType: generated.keyType,
    files: { cert: paths.cert, key: paths.key, ...(paths.chain ? { chain: paths.chain } : {}) },
    fingerprint: generated.fingerprint,
    subject: generated.subject,
    sans: generated.sans,
    notBefore: generated.notBefore.toISOString(),
    notAfter: generated.notAfter.toISOString(),
    ...(options.issuer ? { issuer: resolve(io.cwd, options.issuer.certPath) } : {}),
  };
  if (options.json) io.stdout.write(`${JSON.stringify(result)}\n`);
  else io.stderr.write(formatSummary(result, io.cwd));
  return result;
}

// A certificate without its key (or the reverse) next to an interrupted run's temporary files is a half set:
// "already exists" alone would read as if the set were whole. (Without those files, a lone key may be the
// user's own, and the plain "already exists" is the right words.)
function refuseHalfSet(cert: string, key: string, label: (path: string) => string): void {
  const [hasCert, hasKey] = [existsSync(cert), existsSync(key)];
  if (hasCert === hasKey) return;
  const [present, missing] = hasCert ? [cert, key] : [key, cert];
  throw new FileError(
    `${label(present)} exists but ${label(missing)} is missing: an incomplete set, perhaps from an interrupted gencert (pass --force to replace it)`,
    { code: 'ERR_FILE_EXISTS' },
  );
}

async function generateWithSpinner(options: GencertOptions, io: Io): Promise<GeneratedCertificate> {
  const hosts = options.hosts.length > 0 ? options.hosts : undefined;
  const common = { keyType: options.keyType, days: options.days, cn: options.cn };
  if (options.kind === 'ca') return spin(io, options, () => generateCa(common));
  if (options.kind === 'self-signed') return spin(io, options, () => generateSelfSigned({ ...common, hosts }));
  if (!options.issuer) throw new Error(`a ${options.kind} certificate needs an issuer`);
  // Load the CA before the spinner starts, so a bad issuer fails at once with a plain message.
  const certPath = resolve(io.cwd, options.issuer.certPath);
  const keyPath = resolve(io.cwd, options.issuer.keyPath);
  const certLabel = displayPath(certPath, io.cwd);
  const keyLabel = displayPath(keyPath, io.cwd);
  const [caCert, caKey] = await Promise.all([
    loadCertificate(certPath, 'CA certificate', certLabel),
    loadPrivateKey(keyPath, { what: 'CA key', label: keyLabel }),
  ]);
  const issuer = { certPem: caCert.pem, keyPem: caKey.pem, certPath: certLabel, keyPath: keyLabel };
  return spin(io, options, () =>
    issueCertificate({ ...common, issuer, kind: options.kind === 'client' ? 'client' : 'server', hosts }),
  );
}

async function spin<T>(io: Io, options: GencertOptions, work: () => Promise<T>): Promise<T> {
  const spinner = startSpinner(io, `generating a ${describeKeyType(options.keyType)} key`, { json: options.json });
  try {
    const value = await work();
    spinner.stop();
    return value;
  } catch (error) {
    spinner.stop();
    throw error;
  }
}

function warnAboutValidity(kind: CertificateKind, generated: GeneratedCertificate, logger: Logger): void {
  if (generated.endsWithIssuer) {
    logger.warn(
      `the certificate ends on ${generated.notAfter.toISOString().slice(0, 10)}, when its CA expires, ` +
        'not after the days asked for: a chain stops verifying once its CA has expired',
    );
  }
  if (kind === 'ca' || kind === 'client') return;
  const days = (generated.notAfter.getTime() - generated.notBefore.getTime()) / 86_400_000;
  if (days > APPLE_MAX_SERVER_DAYS) {
    logger.warn(
      `the certificate is valid for more than ${APPLE_MAX_SERVER_DAYS} days; macOS and iOS reject such server certificates`,
    );
  }
}

const KIND_TITLES: Record<CertificateKind, string> = {
  'self-signed': 'a self-signed server certificate',
  ca: 'a local certificate authority',
  server: 'a server certificate',
  client: 'a client certificate',
};

/** The human summary gencert prints on stderr: what, for which names, where, fingerprint, expiry, next step. */
function formatSummary(result: GencertResult, cwd: string): string {
  const show = (path: string) => displayPath(path, cwd);
  const names =
    result.kind === 'ca' || result.sans.length === 0
      ? ` "${commonNameOf(result.subject)}"`
      : ` for ${result.sans.join(', ')}`;
  // The CA by the file that holds it, which is what clients are given with --ca.
  const signer = result.issuer ? `, signed by the CA in ${show(result.issuer)}` : '';
  const lines = [`Created ${KIND_TITLES[result.kind]}${names}${signer}`];
  lines.push(`  certificate  ${show(result.files.cert)}`);
  lines.push(
    `  private key  ${show(result.files.key)} (mode 0600${result.kind === 'ca' ? ', keep it secret' : ''})`,
  );
  if (result.files.chain) lines.push(`  chain        ${show(result.files.chain)} (certificate + CA)`);
  lines.push(`  fingerprint  ${result.fingerprint}`);
  lines.push(`  expires      ${result.notAfter.slice(0, 10)}`);
  lines.push('', 'Next:');
  lines.push(...nextSteps(result, show).map((line) => `  ${line}`));
  return `${lines.join('\n')}\n`;
}

// Each line runs as printed from the same folder, pasted into a shell: real paths, no placeholders, and
// explanations only as `#` comments.
function nextSteps(result: GencertResult, show: (path: string) => string): string[] {
  const cert = quoteArg(show(result.files.cert));
  const key = quoteArg(show(result.files.key));
  const ca = result.issuer ? quoteArg(show(result.issuer)) : '';
  const { listen, target } = reachableAddress(result.sans);
  switch (result.kind) {
    case 'self-signed':
      return [
        `tlsecho serve --cert ${cert} --key ${key}${listen}`,
        `tlsecho connect --pin ${result.fingerprint} ${target}`,
      ];
    case 'ca': {
      const dir = quoteArg(show(resolve(result.files.cert, '..')));
      return withComments([
        [`tlsecho gencert --issuer ${dir}`, 'a server certificate signed by this CA'],
        [`tlsecho gencert --issuer ${dir} --client`, 'a client certificate for mutual TLS'],
      ]);
    }
    case 'server':
      return [`tlsecho serve --cert ${cert} --key ${key}${listen}`, `tlsecho connect --ca ${ca} ${target}`];
    case 'client': {
      // The server certificate this CA signed with gencert's defaults, next to this one.
      const folder = resolve(result.files.cert, '..');
      const serverCert = quoteArg(show(join(folder, 'server.crt')));
      const serverKey = quoteArg(show(join(folder, 'server.key')));
      return [
        `tlsecho serve --cert ${serverCert} --key ${serverKey} --client-ca ${ca}`,
        `tlsecho connect --ca ${ca} --cert ${cert} --key ${key} localhost:${SERVE_DEFAULT_PORT}`,
      ];
    }
  }
}

function withComments(steps: Array<[command: string, comment: string]>): string[] {
  const width = Math.max(...steps.map(([command]) => command.length));
  return steps.map(([command, comment]) => `${command.padEnd(width)}   # ${comment}`);
}

/**
 * Where `serve` listens and how `connect` reaches it and verifies the certificate's names. serve listens on
 * 127.0.0.1 by default, and a name such as api.test usually resolves nowhere on a development machine: so
 * connect to 127.0.0.1 and check the name with --servername, unless the certificate covers localhost. A
 * certificate for addresses only is for a server on one of them (127.0.0.1 first).
 */
function reachableAddress(sans: string[]): { listen: string; target: string } {
  const port = SERVE_DEFAULT_PORT;
  const dns = sans.filter((name) => isIP(name) === 0);
  const ips = sans.filter((name) => isIP(name) !== 0);
  if (sans.length === 0 || dns.includes('localhost')) return { listen: '', target: `localhost:${port}` };
  if (dns.length > 0) {
    const name = dns.find((host) => !host.startsWith('*.')) ?? `www.${dns[0]!.slice(2)}`;
    return { listen: '', target: `${SERVE_DEFAULT_HOST}:${port} --servername ${quoteArg(name)}` };
  }
  if (ips.includes(SERVE_DEFAULT_HOST)) return { listen: '', target: `${SERVE_DEFAULT_HOST}:${port}` };
  const ip = ips[0]!;
  return { listen: ` --host ${ip}`, target: isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}` };
}

function commonNameOf(subject: string): string {
  return /(?:^|, )CN=([^,]+)/.exec(subject)?.[1] ?? subject;
}

function describeKeyType(keyType: KeyType): string {
  const [family, size] = keyType.split('-');
  if (family === 'ec') return `ECDSA ${size?.toUpperCase().replace('P', 'P-')}`;
  if (family === 'rsa') return `RSA ${size}-bit`;
  return 'Ed25519';
}

/** A path as a person typed it: relative to `cwd` when inside it, absolute otherwise. */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/** Quotes a shell word only when it needs it, so printed commands can be pasted. */
export function quoteArg(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Default validity for a kind, as `--help` and the wizard show it. */
export function defaultDays(kind: CertificateKind): number {
  return kind === 'ca' ? DEFAULT_CA_DAYS : DEFAULT_LEAF_DAYS;
}

/** Default host names for a kind: loopback names for server certificates, none for a CA or a client. */
export function defaultHosts(kind: CertificateKind): readonly string[] {
  return kind === 'ca' || kind === 'client' ? [] : DEFAULT_HOSTS;
}
