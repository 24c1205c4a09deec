// The gencert wizard, in-process, with the prompt seam (src/cli/prompts.ts) scripted: each prompt call takes
// the next scripted answer after checking that the question is the one expected.
import { X509Certificate } from 'node:crypto';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { generateCa } from '../../src/certs/generate.js';
import { runGencertWizard } from '../../src/cli/gencert-wizard.js';
import { main } from '../../src/cli/main.js';
import * as prompts from '../../src/cli/prompts.js';
import { createMemoryIo } from '../helpers/memory-io.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';

vi.mock('../../src/cli/prompts.js', () => ({
  promptSelect: vi.fn(),
  promptText: vi.fn(),
  promptConfirm: vi.fn(),
  promptCheckbox: vi.fn(),
  promptPassword: vi.fn(),
}));

/** `DEFAULT` accepts the prompt's default, as pressing Enter does. */
const DEFAULT = Symbol('default');
type Answer = [question: RegExp, answer: unknown];

function script(answers: Answer[]): {
  asked: string[];
  validationOf: (question: RegExp) => (value: string) => unknown;
} {
  const queue = [...answers];
  const asked: string[] = [];
  const validators = new Map<string, (value: string) => unknown>();
  const next = (message: string, fallback: unknown) => {
    asked.push(message);
    const entry = queue.shift();
    if (!entry) throw new Error(`unexpected question: ${message}`);
    expect(message).toMatch(entry[0]);
    return entry[1] === DEFAULT ? fallback : entry[1];
  };
  vi.mocked(prompts.promptSelect).mockImplementation(async (_io, message, _choices, defaultValue) =>
    next(message, defaultValue),
  );
  vi.mocked(prompts.promptText).mockImplementation(async (_io, message, options = {}) => {
    if (options.validate) validators.set(message, options.validate);
    const answer = next(message, options.default) as string;
    // The real prompt would not let an invalid answer through.
    if (options.validate) expect(options.validate(answer)).toBe(true);
    return answer;
  });
  vi.mocked(prompts.promptConfirm).mockImplementation(
    async (_io, message, defaultValue) => next(message, defaultValue) as boolean,
  );
  return {
    asked,
    validationOf: (question) => {
      const found = [...validators.entries()].find(([message]) => question.test(message));
      if (!found) throw new Error(`no validated question ${question}`);
      return found[1];
    },
  };
}

function neverAsk(): void {
  for (const prompt of [prompts.promptSelect, prompts.promptText, prompts.promptConfirm]) {
    vi.mocked(prompt).mockImplementation(() => {
      throw new Error('the wizard must not ask anything here');
    });
  }
}

afterEach(() => {
  vi.mocked(prompts.promptSelect).mockReset();
  vi.mocked(prompts.promptText).mockReset();
  vi.mocked(prompts.promptConfirm).mockReset();
});

// A pretend terminal. ora draws with the cursor methods a real TTY stream has; give the fake stderr them too.
function terminal(cwd: string, env: Record<string, string> = {}) {
  const io = createMemoryIo({ tty: true, cwd, env });
  const cursorMethods = { cursorTo: () => true, moveCursor: () => true, clearLine: () => true, columns: 80 };
  Object.assign(io.stderr, cursorMethods);
  return io;
}

describe('in a terminal with no flags', () => {
  test('accepting every default makes the same self-signed certificate as `gencert --yes`', async () => {
    const cwd = await makeTempDir();
    const { asked } = script([
      [/What do you want to make/, DEFAULT],
      [/Host names/, DEFAULT],
      [/Key type/, DEFAULT],
      [/how many days/, DEFAULT],
      [/Output folder/, DEFAULT],
    ]);
    const io = terminal(cwd);
    expect(await main(['gencert'], io)).toBe(0);
    expect(asked).toHaveLength(5);
    expect(io.output()).toBe('');
    expect(io.errors()).toContain('Created a self-signed server certificate for localhost, 127.0.0.1, ::1\n');
    expect(io.errors().endsWith('\nTo do the same without questions:\n  tlsecho gencert --yes\n')).toBe(true);
    expect((await readdir(join(cwd, 'certs'))).sort()).toEqual(['server.crt', 'server.key']);
  });

  test('a server certificate from the CA: the options chosen and the equivalent command', async () => {
    const cwd = await makeTempDir();
    await writeCa(join(cwd, 'pki'));
    script([
      [/What do you want to make/, 'server'],
      [/Folder holding the CA/, 'pki'],
      [/Host names/, 'api.test, 10.0.0.1'],
      [/Key type/, 'ec-p384'],
      [/how many days/, '90'],
      [/Output folder/, 'out'],
    ]);
    const outcome = await runGencertWizard(terminal(cwd));
    expect(outcome.options).toEqual({
      kind: 'server',
      outDir: 'out',
      name: 'server',
      hosts: ['api.test', '10.0.0.1'],
      cn: undefined,
      days: 90,
      keyType: 'ec-p384',
      issuer: { certPath: 'pki/ca.crt', keyPath: 'pki/ca.key' },
      force: false,
      json: false,
    });
    expect(outcome.command).toBe(
      'tlsecho gencert --issuer pki --host api.test,10.0.0.1 --key-type ec-p384 --days 90 --out out',
    );

    // The printed command, run for real elsewhere, makes the same kind of certificate.
    const elsewhere = await makeTempDir();
    await cp(join(cwd, 'pki'), join(elsewhere, 'pki'), { recursive: true });
    const r = await runCli(outcome.command.split(' ').slice(1), { cwd: elsewhere });
    expect(r.code, r.stderr).toBe(0);
    const made = new X509Certificate(await readFile(join(elsewhere, 'out/server.crt')));
    expect(made.subjectAltName).toBe('DNS:api.test, IP Address:10.0.0.1');
    expect(made.publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    expect(made.checkIssued(new X509Certificate(await readFile(join(elsewhere, 'pki/ca.crt'))))).toBe(true);
  });

  test('a client certificate is named after the client', async () => {
    const cwd = await makeTempDir();
    await writeCa(join(cwd, 'certs'));
    script([
      [/What do you want to make/, 'client'],
      [/Folder holding the CA/, DEFAULT],
      [/Client name/, 'alice'],
      [/Key type/, DEFAULT],
      [/how many days/, DEFAULT],
      [/Output folder/, DEFAULT],
    ]);
    const outcome = await runGencertWizard(terminal(cwd));
    expect(outcome.options).toMatchObject({
      kind: 'client',
      name: 'alice',
      cn: 'alice',
      hosts: [],
      issuer: { certPath: 'certs/ca.crt', keyPath: 'certs/ca.key' },
    });
    expect(outcome.command).toBe('tlsecho gencert --issuer certs --client --name alice');
  });

  test('the CA folder must hold a CA', async () => {
    const cwd = await makeTempDir();
    await writeCa(join(cwd, 'pki'));
    const { validationOf } = script([
      [/What do you want to make/, 'server'],
      [/Folder holding the CA/, 'pki'],
    ]);
    // The script ends after the folder question; the wizard's next question then fails the run.
    await runGencertWizard(terminal(cwd)).catch(() => undefined);
    expect(validationOf(/Folder holding the CA/)('elsewhere')).toBe(
      'no ca.crt and ca.key in elsewhere: make a local CA first',
    );
  });

  test('a CA with its own name: the command quotes it for the shell', async () => {
    const cwd = await makeTempDir();
    script([
      [/What do you want to make/, 'ca'],
      [/CA name/, "Dev's CA"],
      [/Key type/, 'rsa-2048'],
      [/how many days/, DEFAULT],
      [/Output folder/, DEFAULT],
    ]);
    const outcome = await runGencertWizard(terminal(cwd));
    expect(outcome.options).toMatchObject({
      kind: 'ca',
      name: 'ca',
      cn: "Dev's CA",
      days: 3650,
      keyType: 'rsa-2048',
    });
    expect(outcome.command).toBe(`tlsecho gencert --ca --cn 'Dev'\\''s CA' --key-type rsa-2048`);
  });

  test('existing files: asks before replacing, and --force appears in the command', async () => {
    const cwd = await makeTempDir();
    await mkdir(join(cwd, 'certs'));
    await writeFile(join(cwd, 'certs/server.crt'), 'old');
    const answers: Answer[] = [
      [/What do you want to make/, DEFAULT],
      [/Host names/, DEFAULT],
      [/Key type/, DEFAULT],
      [/how many days/, DEFAULT],
      [/Output folder/, DEFAULT],
    ];
    script([...answers, [/^certs\/server\.crt already exists\. Replace\?$/, true]]);
    const outcome = await runGencertWizard(terminal(cwd));
    expect(outcome.options.force).toBe(true);
    expect(outcome.command).toBe('tlsecho gencert --force');

    // Declining leaves the file alone: gencert refuses as it does without the wizard.
    script([...answers, [/already exists/, false]]);
    const io = terminal(cwd);
    expect(await main(['gencert'], io)).toBe(3);
    expect(io.errors()).toContain('tlsecho: certs/server.crt already exists (pass --force to replace it)\n');
    expect(await readFile(join(cwd, 'certs/server.crt'), 'utf8')).toBe('old');
  });

  test('host names and validity are checked as they are typed', async () => {
    const cwd = await makeTempDir();
    const { validationOf } = script([
      [/What do you want to make/, DEFAULT],
      [/Host names/, DEFAULT],
      [/Key type/, DEFAULT],
      [/how many days/, DEFAULT],
      [/Output folder/, DEFAULT],
    ]);
    await runGencertWizard(terminal(cwd));
    expect(validationOf(/Host names/)('localhost, bad_host')).toBe(
      "invalid host 'bad_host': not a DNS name or an IP address",
    );
    expect(validationOf(/how many days/)('0')).toMatch(/from 1 to 7300/);
    expect(validationOf(/how many days/)('1.5')).toMatch(/from 1 to 7300/);
  });
});

describe('no wizard', () => {
  test.each([
    ['when CI is set', [], { CI: 'true' }],
    ['with --yes', ['--yes'], {}],
    ['with --json', ['--json'], {}],
    ['when any flag is given', ['--key-type', 'ed25519'], {}],
  ])('%s', async (_name, args: string[], env: Record<string, string>) => {
    neverAsk();
    const cwd = await makeTempDir();
    const io = terminal(cwd, env);
    expect(await main(['gencert', ...args], io)).toBe(0);
    expect((await readdir(join(cwd, 'certs'))).sort()).toEqual(['server.crt', 'server.key']);
    expect(io.errors()).not.toContain('To do the same without questions');
  });

  test('when stdin is not a terminal', async () => {
    neverAsk();
    const cwd = await makeTempDir();
    const io = createMemoryIo({ tty: false, cwd, env: {} });
    expect(await main(['gencert'], io)).toBe(0);
    expect(await readdir(join(cwd, 'certs'))).toHaveLength(2);
  });
});

async function writeCa(dir: string): Promise<void> {
  const ca = await generateCa();
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'ca.crt'), ca.certPem);
  await writeFile(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });
}
