import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, onTestFinished, test } from 'vitest';
import { createServer } from '../../src/index.js';
import { tracePackages } from '../helpers/loaded-packages.js';
import { BIN, cliEnv, runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';

// What each entry point may load is what its start-up costs: a one-shot `send` in a health-check loop, or a
// library user's `import('tlsecho')`, must not pay for the command line, spinners, prompts or X.509 building.
const LIBRARY = pathToFileURL(fileURLToPath(new URL('../../dist/index.js', import.meta.url))).href;
const CLI_PACKAGES = /^(yargs|yargs-parser|cliui|string-width|ora|chalk|cli-cursor|@inquirer\/.*)$/;
const X509_PACKAGES = /^(@peculiar\/.*|reflect-metadata|tsyringe|asn1js|pvtsutils)$/;

const evaluate = (code: string) => ['--input-type=module', '--eval', code];

test('import("tlsecho") loads no command-line package and no X.509 builder', async () => {
  const trace = await tracePackages(evaluate(`await import(${JSON.stringify(LIBRARY)});`));
  expect(trace.stderr).toBe('');
  expect(trace.code).toBe(0);
  expect(trace.packages.filter((name) => CLI_PACKAGES.test(name))).toEqual([]);
  expect(trace.packages.filter((name) => X509_PACKAGES.test(name))).toEqual([]);
});

test('the library loads the X.509 builder when it generates a certificate', async () => {
  const trace = await tracePackages(
    evaluate(`const t = await import(${JSON.stringify(LIBRARY)}); await t.generateSelfSigned();`),
  );
  expect(trace.code).toBe(0);
  expect(trace.packages).toContain('@peculiar/x509');
  expect(trace.packages.filter((name) => CLI_PACKAGES.test(name))).toEqual([]);
});

test('tlsecho --version loads no package at all', async () => {
  const trace = await tracePackages([BIN, '--version'], cliEnv());
  expect(trace.code).toBe(0);
  expect(trace.packages).toEqual([]);
});

test('a one-shot tlsecho send loads nothing from node_modules: yargs is in the bundle, help layout is not', async () => {
  const server = createServer({ host: '127.0.0.1', port: 0 });
  const { port } = await server.listen();
  onTestFinished(() => server.close(0));
  const pin = server.certificate!.fingerprint;
  const trace = await tracePackages([BIN, 'send', '--pin', pin, `127.0.0.1:${port}`, 'ping'], cliEnv());
  expect(trace.stderr).toBe('');
  expect(trace.code).toBe(0);
  expect(trace.packages).toEqual([]);
});

// The trace sees what the CommonJS bundle require()s, or the tests above would pass for any bundle.
test('tlsecho gencert loads the X.509 builder and nothing of the prompts or spinners off a terminal', async () => {
  const dir = await makeTempDir();
  const trace = await tracePackages([BIN, 'gencert', '--out', dir], cliEnv());
  expect(trace.code).toBe(0);
  expect(trace.packages).toContain('@peculiar/x509');
  expect(trace.packages.filter((name) => CLI_PACKAGES.test(name))).toEqual([]);
});

// The bundle defers yargs' help layout packages (scripts/bundle-cli.ts): every way of asking for help loads them
// first, and the help is laid out in columns as before.
test.each([[['send', '--help']], [['-h']], [['serve', '-qh']], [[]]])(
  'tlsecho %j prints laid-out help',
  async (args) => {
    const result = await runCli(args);
    const help = args.length === 0 ? result.stderr : result.stdout;
    expect(result.code).toBe(args.length === 0 ? 2 : 0);
    expect(help).toMatch(/^Options:$/m);
    expect(help).toMatch(/^ {2}-h, --help +Show help +\[boolean\]$/m);
  },
);
