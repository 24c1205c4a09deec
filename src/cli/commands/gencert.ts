import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type { CertificateKind, GencertOptions } from '../../certs/gencert.js';
import { DEFAULT_KEY_TYPE, KEY_TYPES, isKeyType, type KeyType } from '../../certs/key-types.js';
import { MAX_DAYS } from '../../certs/validity.js';
import { UsageError } from '../../errors.js';
import { isInteractive, type Io } from '../../io.js';
import { withJsonOption } from '../option-groups.js';

/** The flags as yargs hands them over. Nothing has a yargs default, so "no flags given" is detectable. */
export interface GencertArgs {
  out?: string;
  name?: string;
  host?: string[];
  cn?: string;
  days?: number;
  'key-type'?: KeyType;
  ca?: boolean;
  issuer?: string;
  'ca-cert'?: string;
  'ca-key'?: string;
  client?: boolean;
  force?: boolean;
  json?: boolean;
  yes?: boolean;
}

const GENCERT_FLAGS = [
  'out',
  'name',
  'host',
  'cn',
  'days',
  'key-type',
  'ca',
  'issuer',
  'ca-cert',
  'ca-key',
  'client',
  'force',
  'json',
  'yes',
] as const;

export const DEFAULT_OUT_DIR = 'certs';

const WHAT_GROUP = 'What to make:';
const CERT_GROUP = 'Certificate:';
const FILES_GROUP = 'Files:';

export const gencertCommand = (io: Io): CommandModule<object, GencertArgs> => ({
  command: 'gencert',
  describe: 'make a self-signed certificate, a local CA, or certificates issued by it',
  builder: (y) => withGencertOptions(y),
  handler: async (argv) => {
    // Loaded here, not at the top: the X.509 library and the prompts cost every other command start-up time.
    const { gencert } = await import('../../certs/gencert.js');
    if (noFlagsGiven(argv) && isInteractive(io, { json: argv.json, yes: argv.yes })) {
      const { runGencertWizard } = await import('../gencert-wizard.js');
      const { options, command } = await runGencertWizard(io);
      await gencert(options, io);
      io.stderr.write(`\nTo do the same without questions:\n  ${command}\n`);
      return;
    }
    await gencert(toGencertOptions(argv), io);
  },
});

/** The gencert flags and the rules between them. */
export function withGencertOptions(y: Argv) {
  return withJsonOption(y)
    .option('ca', {
      type: 'boolean',
      describe: 'make a local certificate authority (ca.crt, ca.key) to sign other certificates',
      group: WHAT_GROUP,
    })
    .option('issuer', {
      type: 'string',
      describe: 'sign with the CA in this folder (DIR/ca.crt and DIR/ca.key); writes a chain file too',
      group: WHAT_GROUP,
    })
    .option('ca-cert', {
      type: 'string',
      describe: 'sign with this CA certificate (with --ca-key)',
      group: WHAT_GROUP,
    })
    .option('ca-key', { type: 'string', describe: 'the private key of --ca-cert', group: WHAT_GROUP })
    .option('client', {
      type: 'boolean',
      describe: 'make a client certificate for mutual TLS (needs --issuer)',
      group: WHAT_GROUP,
    })
    .option('host', {
      type: 'string',
      array: true,
      describe: 'DNS name or IP address to cover (repeatable, or comma-separated)',
      defaultDescription: 'localhost,127.0.0.1,::1 (none for --ca and --client)',
      group: CERT_GROUP,
    })
    .option('cn', {
      type: 'string',
      describe: 'subject common name',
      defaultDescription: 'the first host; the name for --client; "tlsecho local CA" for --ca',
      group: CERT_GROUP,
    })
    .option('days', {
      type: 'string',
      describe: `validity in days (1 to ${MAX_DAYS}); a certificate a CA issues ends with the CA at the latest`,
      defaultDescription: '820, under the 825 days Apple platforms accept; 3650 for --ca',
      group: CERT_GROUP,
      coerce: parseDays,
    })
    .option('key-type', {
      type: 'string',
      choices: KEY_TYPES,
      describe: 'key algorithm',
      defaultDescription: DEFAULT_KEY_TYPE,
      group: CERT_GROUP,
      // yargs' own choices error spans several lines; this one is a single line naming the flag.
      coerce: parseKeyType,
    })
    .option('out', {
      type: 'string',
      describe: 'folder to write the files to (created if missing)',
      defaultDescription: `./${DEFAULT_OUT_DIR}`,
      group: FILES_GROUP,
    })
    .option('name', {
      type: 'string',
      describe: 'file base name: NAME.crt, NAME.key (and NAME.chain.pem when issued by a CA)',
      defaultDescription: 'server; ca with --ca; client with --client',
      group: FILES_GROUP,
    })
    .option('force', { type: 'boolean', describe: 'replace existing files', group: FILES_GROUP })
    .option('yes', {
      alias: 'y',
      type: 'boolean',
      describe: 'never ask questions: use defaults for what is not given',
    })
    .check((argv) => {
      checkFlagCombinations(argv as GencertArgs);
      return true;
    })
    .group('yes', WHAT_GROUP)
    .epilog('With no flags on a terminal, gencert asks what to make, then prints the equivalent command.')
    .example('$0 gencert', 'self-signed server certificate for localhost in ./certs')
    .example('$0 gencert --ca', 'a local CA in ./certs (ca.crt, ca.key)')
    .example('$0 gencert --issuer certs --host api.test', 'a server certificate signed by that CA')
    .example('$0 gencert --issuer certs --client --name alice', 'a client certificate for mutual TLS');
}

// yargs' .conflicts() message ("Arguments a and b are mutually exclusive") does not say why; these do.
function checkFlagCombinations(argv: GencertArgs): void {
  const given = (flag: keyof GencertArgs) => argv[flag] !== undefined && argv[flag] !== false;
  if (given('ca')) {
    for (const flag of ['issuer', 'ca-cert', 'ca-key'] as const) {
      if (given(flag)) throw flagError(`--ca and --${flag} cannot go together: a CA signs itself`);
    }
    if (given('client'))
      throw flagError(
        '--ca and --client cannot go together: make the CA first, then the client certificate with --issuer',
      );
    if (given('host')) throw flagError('--ca and --host cannot go together: a CA certificate names no hosts');
  }
  if (given('issuer') && (given('ca-cert') || given('ca-key'))) {
    throw flagError(
      `--issuer and --${given('ca-cert') ? 'ca-cert' : 'ca-key'} cannot go together: pass a CA folder or the two files`,
    );
  }
  if (given('ca-cert') !== given('ca-key')) {
    throw flagError('--ca-cert and --ca-key go together: pass both or neither');
  }
  if (argv.name !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(argv.name)) {
    throw flagError(
      `invalid --name '${argv.name}': expected a file name without folders (--out sets the folder)`,
    );
  }
  if (given('client') && !given('issuer') && !given('ca-cert')) {
    throw flagError('--client needs a CA to sign it: pass --issuer DIR (or --ca-cert and --ca-key)');
  }
}

// The same hint main gives other usage errors, so every flag mistake reads alike.
function flagError(message: string): UsageError {
  return new UsageError(message, { hint: "see 'tlsecho gencert --help'" });
}

function parseDays(value: string): number {
  const days = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new UsageError(`invalid --days '${value}': expected a whole number of days from 1 to ${MAX_DAYS}`);
  }
  return days;
}

function parseKeyType(value: string): KeyType {
  if (!isKeyType(value)) {
    throw new UsageError(`unknown --key-type '${value}': choose one of ${KEY_TYPES.join(', ')}`);
  }
  return value;
}

function noFlagsGiven(argv: GencertArgs): boolean {
  // --json has a default (false) from the shared option group, so false counts as not given.
  return GENCERT_FLAGS.every((flag) => argv[flag] === undefined || argv[flag] === false);
}

/** Flags to core options: applies the defaults that depend on other flags. Pure, so tests table it. */
export function toGencertOptions(argv: GencertArgs): GencertOptions {
  const issuer =
    argv.issuer !== undefined
      ? { certPath: join(argv.issuer, 'ca.crt'), keyPath: join(argv.issuer, 'ca.key') }
      : argv['ca-cert'] !== undefined && argv['ca-key'] !== undefined
        ? { certPath: argv['ca-cert'], keyPath: argv['ca-key'] }
        : undefined;
  const kind: CertificateKind = argv.ca ? 'ca' : argv.client ? 'client' : issuer ? 'server' : 'self-signed';
  const name = argv.name ?? (kind === 'ca' ? 'ca' : kind === 'client' ? 'client' : 'server');
  return {
    kind,
    outDir: argv.out ?? DEFAULT_OUT_DIR,
    name,
    // Empty entries stay: `--host ''` must fail (no names given), not fall back to the default names.
    hosts: (argv.host ?? []).flatMap((value) => value.split(',')).map((host) => host.trim()),
    // A client certificate is its holder's identity: name it after --name unless --cn says otherwise.
    cn: argv.cn ?? (kind === 'client' ? name : undefined),
    days: argv.days,
    keyType: argv['key-type'] ?? DEFAULT_KEY_TYPE,
    issuer,
    force: argv.force ?? false,
    json: argv.json ?? false,
  };
}
