// Output that cannot be written: stdout on a full disk (/dev/full answers every write with ENOSPC), stderr
// on one, and gencert's folder on a read-only file system. Each is one line naming the error and exit 3 (the
// README's "file or I/O error"), never a stack trace. Run `npm run build` first.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeSharedTestPki } from '../client/helpers/pki.js';
import { startServeChild, type ServeChild } from '../client/helpers/serve-child.js';
import { BIN, cliEnv, collect, type CliResult } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';

const FULL = '/dev/full';
const hasDevFull = existsSync(FULL);
if (!hasDevFull) console.log('skipping the full-disk tests: this system has no /dev/full');

/** Runs `node bin/tlsecho ...args` with stdout (or stderr) writing to /dev/full. */
async function runInto(
  which: 'stdout' | 'stderr',
  args: string[],
  input = '',
  cwd?: string,
): Promise<CliResult> {
  const full = await open(FULL, 'w');
  try {
    const stdio = which === 'stdout' ? ['pipe', full.fd, 'pipe'] : ['pipe', 'pipe', full.fd];
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: cliEnv(),
      stdio: stdio as ['pipe', 'pipe', 'pipe'],
    });
    // collect() reads both pipes; give it an empty stream for the one that goes to /dev/full.
    if (which === 'stdout') Object.assign(child, { stdout: emptyStream() });
    else Object.assign(child, { stderr: emptyStream() });
    return await collect(child, { input });
  } finally {
    await full.close();
  }
}

function emptyStream(): NodeJS.ReadableStream {
  return { on: () => undefined } as unknown as NodeJS.ReadableStream;
}

const NO_SPACE = 'tlsecho: cannot write to stdout: no space left on the device\n';

let pki: Awaited<ReturnType<typeof makeSharedTestPki>>;
let server: ServeChild;
beforeAll(async () => {
  pki = await makeSharedTestPki();
  server = await startServeChild(['--cert', pki.server.certFile, '--key', pki.server.keyFile], {
    shared: true,
  });
});
afterAll(async () => {
  await server?.stop();
  await pki?.cleanup();
});

describe.runIf(hasDevFull)('stdout on a full disk: exit 3 and one line, no stack trace', () => {
  test('send', async () => {
    const r = await runInto('stdout', ['send', `127.0.0.1:${server.port}`, '--ca', pki.caFile, 'hello']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 3, stderr: NO_SPACE });
  });

  test('connect', async () => {
    const r = await runInto(
      'stdout',
      ['connect', `127.0.0.1:${server.port}`, '--ca', pki.caFile],
      'one\ntwo\n',
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 3, stderr: NO_SPACE });
  });

  test('bench', async () => {
    const r = await runInto('stdout', ['bench', `127.0.0.1:${server.port}`, '--ca', pki.caFile, '-n', '10']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 3, stderr: NO_SPACE });
  });

  test('gencert --json', async () => {
    const cwd = await makeTempDir();
    const r = await runInto('stdout', ['gencert', '--json'], '', cwd);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 3, stderr: NO_SPACE });
  });

  test('stderr on a full disk: exit 3 (there is nowhere to say why)', async () => {
    const r = await runInto('stderr', [
      'send',
      `127.0.0.1:${server.port}`,
      '--ca',
      pki.caFile,
      '--bogus-flag',
      'x',
    ]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 3, stdout: '' });
  });
});

// A read-only mount in a private mount namespace (unshare -m), so nothing outside the child sees it. That
// needs CAP_SYS_ADMIN (root, or a user namespace); where neither works the test is skipped, and the wording
// for EROFS is still covered by the unit test of systemReason.
const canMountReadOnly = process.platform === 'linux' && probeReadOnlyMount();
if (!canMountReadOnly)
  console.log('skipping the read-only file system test: unshare -m with mount is not permitted here');

function probeReadOnlyMount(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'tlsecho-ro-probe-'));
  try {
    const script = 'mount -t tmpfs -o ro tmpfs "$1"';
    return spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', dir], { stdio: 'ignore' }).status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.runIf(canMountReadOnly)('a read-only file system', () => {
  test.each([
    ['certs (missing, so gencert makes it)', [] as string[], 'certs/server.crt'],
    ['the folder itself', ['--out', '.'], 'server.crt'],
  ])('gencert into %s: exit 3, "read-only file system", nothing left', async (_what, extra, label) => {
    const dir = await makeTempDir();
    const script = `mount -t tmpfs -o ro tmpfs "$1" && cd "$1" && shift && exec "$@"`;
    const child = spawn(
      'unshare',
      ['-m', 'sh', '-c', script, 'sh', dir, process.execPath, BIN, 'gencert', ...extra],
      {
        env: cliEnv(),
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const r = await collect(child);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 3,
      stdout: '',
      stderr: `tlsecho: cannot write ${label}: read-only file system\n`,
    });
    expect(await readdir(dir)).toEqual([]);
  });
});
