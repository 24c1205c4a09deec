// gencert failing half way (a folder it may not write to, a file size limit hit on the last file, a CA key
// that is not the CA's) leaves no file behind: no certificate without its key, no temporary file.
import { spawn, spawnSync } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { generateCa } from '../../src/certs/generate.js';
import { BIN, cliEnv, collect, runCli, type CliResult } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';

const isRoot = process.getuid?.() === 0;
// util-linux's setpriv drops root's capabilities for one command; without it (or root) modes mean nothing.
const canDropOverride = !isRoot || spawnSync('setpriv', ['--version']).status === 0;

// Root writes anywhere whatever the mode says; without CAP_DAC_OVERRIDE it obeys the mode like anyone.
function runWithoutOverride(args: string[], cwd: string): Promise<CliResult> {
  const command = isRoot
    ? [
        'setpriv',
        '--bounding-set=-dac_override,-dac_read_search',
        '--inh-caps=-dac_override,-dac_read_search',
        '--',
        process.execPath,
        BIN,
        ...args,
      ]
    : [process.execPath, BIN, ...args];
  const child = spawn(command[0]!, command.slice(1), { cwd, env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  return collect(child);
}

// A file size limit of 1 KiB: a P-256 certificate and key fit, the chain file (two certificates) does not.
// SIGXFSZ ignored, so the write fails with EFBIG instead of killing the process.
function runWithFileSizeLimit(args: string[], cwd: string): Promise<CliResult> {
  const script = `trap '' XFSZ; ulimit -f 1; exec "$0" "$@"`;
  const child = spawn('bash', ['-c', script, process.execPath, BIN, ...args], {
    cwd,
    env: cliEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child);
}

/** Every file under `dir`, recursively, hidden ones included. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => !entry.isDirectory()).map((entry) => entry.name);
}

// Two CAs, made once; each test gets its own copy to work next to.
let cas: string;
beforeAll(async () => {
  cas = await mkdtemp(join(tmpdir(), 'tlsecho-gencert-cas-'));
  for (const name of ['ca', 'other-ca']) {
    const ca = await generateCa({ cn: name });
    await mkdir(join(cas, name));
    await writeFile(join(cas, name, 'ca.crt'), ca.certPem);
    await writeFile(join(cas, name, 'ca.key'), ca.keyPem, { mode: 0o600 });
  }
});
afterAll(() => (cas ? rm(cas, { recursive: true, force: true }) : undefined));

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('tlsecho-gencert-fail-');
  await cp(cas, dir, { recursive: true });
});

describe('gencert leaves no file behind when it fails half way', () => {
  test.runIf(canDropOverride).each([
    ['a self-signed certificate', [] as string[]],
    ['a CA-issued certificate (three files)', ['--issuer', 'ca']],
  ])(
    '%s into a folder it may not write to: exit 3, the file named, the folder still empty',
    async (_what, extra) => {
      await mkdir(join(dir, 'locked'), { mode: 0o555 });
      await chmod(join(dir, 'locked'), 0o555);
      const r = await runWithoutOverride(['gencert', ...extra, '--out', 'locked'], dir);
      expect(r.code).toBe(3);
      expect(r.stderr).toBe('tlsecho: cannot write locked/server.crt: permission denied\n');
      expect(await filesUnder(join(dir, 'locked'))).toEqual([]);
    },
  );

  test.runIf(canDropOverride)(
    'an output folder to create under one it may not write to: exit 3 and nothing created',
    async () => {
      await mkdir(join(dir, 'locked'), { mode: 0o555 });
      await chmod(join(dir, 'locked'), 0o555);
      const r = await runWithoutOverride(['gencert', '--out', 'locked/certs/deeper'], dir);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(
        /^tlsecho: cannot write locked\/certs\/deeper\/server\.crt: permission denied\n$/,
      );
      expect(await readdir(join(dir, 'locked'))).toEqual([]);
    },
  );

  test('the last of three files over the file size limit: the two written before it are removed too', async () => {
    const r = await runWithFileSizeLimit(['gencert', '--issuer', 'ca', '--out', 'out/new'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      'tlsecho: cannot write out/new/server.chain.pem: file too large for the file size limit (ulimit -f)\n',
    );
    // The folders it made for the set went with the files.
    expect(await readdir(dir)).not.toContain('out');
  });

  test('a CA key that does not match the CA certificate: exit 3, found before anything is written', async () => {
    const r = await runCli(
      ['gencert', '--ca-cert', 'ca/ca.crt', '--ca-key', 'other-ca/ca.key', '--out', 'issued'],
      { cwd: dir },
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      "tlsecho: other-ca/ca.key does not match ca/ca.crt: the key is not the CA's private key\n",
    );
    expect(await readdir(dir)).not.toContain('issued');
    expect((await filesUnder(join(dir, 'ca'))).sort()).toEqual(['ca.crt', 'ca.key']);
  });
});
