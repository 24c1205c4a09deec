import { existsSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  defaultDays,
  defaultHosts,
  displayPath,
  quoteArg,
  type CertificateKind,
  type GencertOptions,
} from '../certs/gencert.js';
import { MAX_DAYS } from '../certs/generate.js';
import { sortHosts } from '../certs/hosts.js';
import { DEFAULT_KEY_TYPE, KEY_TYPES, type KeyType } from '../certs/key-types.js';
import { isTlsechoError } from '../errors.js';
import type { Io } from '../io.js';
import { promptConfirm, promptSelect, promptText, type Choice } from './prompts.js';

/** The options the person chose, and the command line that does the same without questions. */
interface WizardOutcome {
  options: GencertOptions;
  command: string;
}

const DEFAULT_OUT_DIR = 'certs';
const DEFAULT_CA_NAME = 'tlsecho local CA';

const KIND_CHOICES: Choice<CertificateKind>[] = [
  {
    name: 'Self-signed server certificate',
    value: 'self-signed',
    description: 'quickest: clients trust it with --pin or --ca server.crt',
  },
  { name: 'Local CA', value: 'ca', description: 'a certificate authority that signs the certificates below' },
  {
    name: 'Server certificate from the CA',
    value: 'server',
    description: 'clients trust it with --ca ca.crt',
  },
  {
    name: 'Client certificate from the CA',
    value: 'client',
    description: 'for servers that require mutual TLS',
  },
];

const KEY_TYPE_DESCRIPTIONS: Record<KeyType, string> = {
  'ec-p256': 'ECDSA P-256: small, fast, accepted everywhere (recommended)',
  'ec-p384': 'ECDSA P-384',
  ed25519: 'Ed25519: not accepted by every TLS peer (browsers refuse it)',
  'rsa-2048': 'RSA 2048-bit: for old peers without ECDSA',
  'rsa-3072': 'RSA 3072-bit',
  'rsa-4096': 'RSA 4096-bit: slow to generate',
};

/** Asks what to make, step by step, through the prompt wrappers (the only seam tests mock). */
export async function runGencertWizard(io: Io): Promise<WizardOutcome> {
  const kind = await promptSelect(io, 'What do you want to make?', KIND_CHOICES, 'self-signed');

  let issuerDir: string | undefined;
  if (kind === 'server' || kind === 'client') {
    issuerDir = await promptText(io, 'Folder holding the CA (ca.crt and ca.key):', {
      default: DEFAULT_OUT_DIR,
      validate: (dir) =>
        existsSync(resolve(io.cwd, dir, 'ca.crt')) && existsSync(resolve(io.cwd, dir, 'ca.key'))
          ? true
          : `no ca.crt and ca.key in ${dir}: make a local CA first`,
    });
  }

  let hosts: string[] = [];
  let cn: string | undefined;
  let name = kind === 'ca' ? 'ca' : kind === 'client' ? 'client' : 'server';
  if (kind === 'self-signed' || kind === 'server') {
    const answer = await promptText(io, 'Host names and IP addresses (comma-separated):', {
      default: defaultHosts(kind).join(','),
      validate: validateHosts,
    });
    hosts = splitHosts(answer);
  } else if (kind === 'client') {
    name = await promptText(io, 'Client name (the certificate name and file name):', {
      default: 'client',
      validate: (value) =>
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value) ? true : 'use letters, digits, . _ -',
    });
    cn = name;
  } else {
    const answer = await promptText(io, 'CA name:', { default: DEFAULT_CA_NAME });
    if (answer !== DEFAULT_CA_NAME) cn = answer;
  }

  const keyType = await promptSelect<KeyType>(
    io,
    'Key type:',
    KEY_TYPES.map((value) => ({ name: value, value, description: KEY_TYPE_DESCRIPTIONS[value] })),
    DEFAULT_KEY_TYPE,
  );
  const days = Number(
    await promptText(io, 'Valid for how many days?', {
      default: String(defaultDays(kind)),
      validate: validateDays,
    }),
  );
  const outDir = await promptText(io, 'Output folder:', { default: DEFAULT_OUT_DIR });

  const issuer = issuerDir
    ? { certPath: join(issuerDir, 'ca.crt'), keyPath: join(issuerDir, 'ca.key') }
    : undefined;
  const targets = [`${name}.crt`, `${name}.key`, ...(issuer ? [`${name}.chain.pem`] : [])].map((file) =>
    resolve(io.cwd, outDir, file),
  );
  const existing = await existingFiles(targets);
  let force = false;
  if (existing.length > 0) {
    const shown = existing.map((path) => displayPath(path, io.cwd)).join(', ');
    force = await promptConfirm(
      io,
      `${shown} already exist${existing.length === 1 ? 's' : ''}. Replace?`,
      false,
    );
  }

  const options: GencertOptions = {
    kind,
    outDir,
    name,
    hosts,
    cn,
    days,
    keyType,
    issuer,
    force,
    json: false,
  };
  return { options, command: toGencertCommand(options) };
}

/** The `tlsecho gencert …` command line that makes what `options` describe, without the wizard. */
function toGencertCommand(options: GencertOptions): string {
  const args: string[] = [];
  if (options.kind === 'ca') args.push('--ca');
  if (options.issuer) {
    const dir = dirname(options.issuer.certPath);
    const isFolder =
      basename(options.issuer.certPath) === 'ca.crt' && options.issuer.keyPath === join(dir, 'ca.key');
    if (isFolder) args.push('--issuer', dir);
    else args.push('--ca-cert', options.issuer.certPath, '--ca-key', options.issuer.keyPath);
  }
  if (options.kind === 'client') args.push('--client');
  const defaultName = options.kind === 'ca' ? 'ca' : options.kind === 'client' ? 'client' : 'server';
  if (options.name !== defaultName) args.push('--name', options.name);
  if (options.hosts.length > 0 && options.hosts.join(',') !== defaultHosts(options.kind).join(',')) {
    args.push('--host', options.hosts.join(','));
  }
  // A client's CN follows --name on its own; only a different one needs saying.
  if (options.cn !== undefined && !(options.kind === 'client' && options.cn === options.name)) {
    args.push('--cn', options.cn);
  }
  if (options.keyType !== DEFAULT_KEY_TYPE) args.push('--key-type', options.keyType);
  if (options.days !== undefined && options.days !== defaultDays(options.kind)) {
    args.push('--days', String(options.days));
  }
  if (options.outDir !== DEFAULT_OUT_DIR) args.push('--out', options.outDir);
  if (options.force) args.push('--force');
  // With no flags at all, a terminal would start this wizard again.
  if (args.length === 0) args.push('--yes');
  return ['tlsecho', 'gencert', ...args.map(quoteArg)].join(' ');
}

function splitHosts(answer: string): string[] {
  return answer
    .split(',')
    .map((host) => host.trim())
    .filter(Boolean);
}

function validateHosts(answer: string): true | string {
  try {
    sortHosts(splitHosts(answer));
    return true;
  } catch (error) {
    if (isTlsechoError(error)) return error.message;
    throw error;
  }
}

function validateDays(answer: string): true | string {
  const days = /^\d+$/.test(answer.trim()) ? Number(answer) : NaN;
  return Number.isSafeInteger(days) && days >= 1 && days <= MAX_DAYS
    ? true
    : `a whole number of days from 1 to ${MAX_DAYS}`;
}

async function existingFiles(paths: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) {
    if (
      await lstat(path).then(
        () => true,
        () => false,
      )
    )
      found.push(path);
  }
  return found;
}
