import { generateKeyPairSync } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli, type CliResult } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';

// Mistaken input on the command line: each case must end in one `tlsecho:` line (plus an optional hint),
// the documented exit code, and nothing on stdout; never a crash, a stack trace or an "internal error".
// No case here reaches a server: every one is refused before a connection is made.

function expectUsageError(r: CliResult, message: RegExp): void {
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^tlsecho: [^\n]+\n(hint: [^\n]+\n)?$/);
  expect(r.stderr.split('\n')[0]).toMatch(message);
  expect(r.code).toBe(2);
}

describe('--alpn', () => {
  test.each([
    ['send', ['send', '127.0.0.1:1', '--insecure', '--alpn', '', 'hi']],
    ['connect', ['connect', '127.0.0.1:1', '--insecure', '--alpn', '']],
    ['bench', ['bench', '127.0.0.1:1', '--insecure', '--alpn', '', '-n', '1']],
    ['serve', ['serve', '--port', '0', '--alpn', '']],
  ])('%s refuses an empty protocol name instead of aborting the process', async (_name, args) => {
    const r = await runCli(args, { input: '', killAfterMs: 10_000 });
    expectUsageError(r, /^tlsecho: invalid --alpn '': a protocol name is 1 to 255 bytes/);
  });

  test('a protocol name over 255 bytes is refused, shown shortened', async () => {
    const r = await runCli(['send', '127.0.0.1:1', '--insecure', '--alpn', 'x'.repeat(256), 'hi']);
    expectUsageError(r, /^tlsecho: invalid --alpn 'x{40}…': a protocol name is 1 to 255 bytes/);
  });
});

describe('a flag that takes one value, given twice', () => {
  test.each([
    [
      'serve --cert',
      ['serve', '--port', '0', '--cert', 'a.crt', '--cert', 'b.crt', '--key', 'k'],
      '--cert',
      "'a.crt', 'b.crt'",
    ],
    ['send --pin', ['send', '127.0.0.1:1', '--pin', 'x', '--pin', 'y', 'hi'], '--pin', "'x', 'y'"],
    [
      'send -o',
      ['send', '127.0.0.1:1', '--insecure', '-o', 'hex', '-o', 'text', 'hi'],
      '--output',
      "'hex', 'text'",
    ],
    [
      'send --timeout',
      ['send', '127.0.0.1:1', '--insecure', '--timeout', '1s', '--timeout', '2s', 'hi'],
      '--timeout',
      "'1s', '2s'",
    ],
    [
      'connect --record',
      ['connect', '127.0.0.1:1', '--insecure', '--record', 'a', '--record', 'b'],
      '--record',
      "'a', 'b'",
    ],
    ['gencert --cn', ['gencert', '--yes', '--out', 'unused', '--cn', 'a', '--cn', 'b'], '--cn', "'a', 'b'"],
    ['proxy --listen', ['proxy', '127.0.0.1:1', '-l', '0', '-l', '0'], '--listen', "'0', '0'"],
  ])(
    '%s: one usage line naming the flag and both values, not an internal error',
    async (_name, args, flag, values) => {
      const cwd = await makeTempDir();
      const r = await runCli(args, { cwd, input: '', killAfterMs: 10_000 });
      expectUsageError(r, new RegExp(`^tlsecho: ${flag} was given 2 times \\(${values}\\): pass it once$`));
    },
  );

  test('repeatable flags still collect every value', async () => {
    // Two --host values make one certificate for both names: gencert runs to completion.
    const dir = await makeTempDir();
    const r = await runCli(['gencert', '--yes', '--out', dir, '--host', 'a.test', '--host', 'b.test']);
    expect(r.stderr).toContain('for a.test, b.test');
    expect(r.code).toBe(0);
  });
});

describe('--max-frame', () => {
  test.each([
    ['send', ['send', '127.0.0.1:1', '--insecure', '--max-frame', '0', 'hi']],
    ['serve', ['serve', '--port', '0', '--max-frame', '0']],
    ['proxy', ['proxy', '127.0.0.1:1', '-l', '0', '--max-frame', '0B']],
  ])('%s refuses 0 at once, before any connection', async (_name, args) => {
    const cwd = await makeTempDir();
    const r = await runCli(args, { cwd, input: '', killAfterMs: 10_000 });
    expectUsageError(r, /^tlsecho: invalid --max-frame '0B?': expected at least 1 byte$/);
  });

  test('TLSECHO_MAX_FRAME=0 is refused the same way', async () => {
    const r = await runCli(['send', '127.0.0.1:1', '--insecure', 'hi'], { env: { TLSECHO_MAX_FRAME: '0' } });
    expectUsageError(r, /^tlsecho: invalid --max-frame '0': expected at least 1 byte$/);
  });
});

describe('serve --host and --port', () => {
  test('an empty --host is refused rather than listening on every interface', async () => {
    const cwd = await makeTempDir();
    const r = await runCli(['serve', '--port', '0', '--host', ''], { cwd, killAfterMs: 10_000 });
    expectUsageError(r, /^tlsecho: invalid --host '': name the address to listen on/);
  });

  test.each(['', '1e3', '0x10', ' '])("--port '%s' is refused rather than read as a number", async (port) => {
    const cwd = await makeTempDir();
    const r = await runCli(['serve', '--port', port], { cwd, killAfterMs: 10_000 });
    expectUsageError(r, /^tlsecho: invalid --port '.*': expected a whole number, 0 to 65535$/);
  });

  test('a --host (or proxy --listen host) with a space is a usage error, not a DNS failure', async () => {
    const cwd = await makeTempDir();
    const serve = await runCli(['serve', '--port', '0', '--host', 'a b'], { cwd, killAfterMs: 10_000 });
    expectUsageError(serve, /^tlsecho: invalid --host 'a b': an address or host name holds no spaces$/);
    const proxy = await runCli(['proxy', '127.0.0.1:1', '--insecure', '-l', 'a b:0'], {
      cwd,
      killAfterMs: 10_000,
    });
    expectUsageError(proxy, /^tlsecho: invalid --listen 'a b:0': an address or host name holds no spaces$/);
  });
});

test.each(['', 'a b'])("--servername '%s' is refused: it names no host", async (name) => {
  const r = await runCli(['send', '127.0.0.1:1', '--servername', name, 'hi']);
  expectUsageError(r, new RegExp(`^tlsecho: invalid --servername '${name}': expected a host name`));
});

describe('a duration that does not parse names its flag', () => {
  test.each([
    ['serve --idle-timeout', ['serve', '--port', '0', '--idle-timeout', '-5'], {}, "--idle-timeout '-5'"],
    ['send --timeout', ['send', '127.0.0.1:1', '--insecure', '--timeout', 'xx', 'hi'], {}, "--timeout 'xx'"],
    ['bench --duration', ['bench', '127.0.0.1:1', '--insecure', '-d', ''], {}, "--duration ''"],
    ['TLSECHO_LINGER', ['connect', '127.0.0.1:1', '--insecure'], { TLSECHO_LINGER: '-1' }, "--linger '-1'"],
  ])('%s', async (_name, args, env, named) => {
    const cwd = await makeTempDir();
    const r = await runCli(args, { cwd, env, input: '', killAfterMs: 10_000 });
    expectUsageError(r, new RegExp(`^tlsecho: invalid ${named}: use a number with ms, s, m or h`));
  });
});

describe('a zero time limit that would fail everything at once', () => {
  test.each([
    ['serve', ['serve', '--port', '0', '--idle-timeout', '0'], '--idle-timeout', '0'],
    ['serve', ['serve', '--port', '0', '--handshake-timeout', '0ms'], '--handshake-timeout', '0ms'],
    ['proxy', ['proxy', '127.0.0.1:1', '-l', '0', '--idle-timeout', '0'], '--idle-timeout', '0'],
    ['send', ['send', '127.0.0.1:1', '--insecure', '--timeout', '0', 'hi'], '--timeout', '0'],
    [
      'connect',
      ['connect', '127.0.0.1:1', '--insecure', '--connect-timeout', '0s'],
      '--connect-timeout',
      '0s',
    ],
    ['bench', ['bench', '127.0.0.1:1', '--insecure', '--timeout', '0'], '--timeout', '0'],
  ])('%s %s is refused in the words of the flag', async (_name, args, flag, value) => {
    const cwd = await makeTempDir();
    const r = await runCli(args, { cwd, input: '', killAfterMs: 10_000 });
    expectUsageError(r, new RegExp(`^tlsecho: invalid ${flag} '${value}': expected more than zero`));
  });
});

describe('a number flag given something else', () => {
  test.each([
    ['send -p', ['send', 'localhost', '-p', 'abc', 'hi'], {}, '--port'],
    ['bench -n', ['bench', '127.0.0.1:1', '--insecure', '-n', 'abc'], {}, '--messages'],
    [
      'proxy --max-connections',
      ['proxy', '127.0.0.1:1', '-l', '0', '--max-connections', 'many'],
      {},
      '--max-connections',
    ],
    ['TLSECHO_COUNT', ['send', '127.0.0.1:1', '--insecure', 'hi'], { TLSECHO_COUNT: 'x' }, '--count'],
  ])('%s: refused naming the flag, never "NaN"', async (_name, args, env, flag) => {
    const cwd = await makeTempDir();
    const r = await runCli(args, { cwd, env, input: '', killAfterMs: 10_000 });
    expectUsageError(r, new RegExp(`^tlsecho: invalid ${flag}: expected a number$`));
  });
});

test("proxy --max-connections 0 is refused in the flag's words, not the library's (maxConnections)", async () => {
  const cwd = await makeTempDir();
  const r = await runCli(['proxy', '127.0.0.1:1', '-l', '0', '--max-connections', '0'], {
    cwd,
    killAfterMs: 10_000,
  });
  expectUsageError(r, /^tlsecho: invalid --max-connections '0': expected a whole number, at least 1$/);
});

describe('an encrypted client key without its passphrase', () => {
  async function encryptedKeyAndCertificate(): Promise<{ dir: string; key: string; cert: string }> {
    const dir = await makeTempDir();
    const made = await runCli(['gencert', '--yes', '--out', dir]);
    expect(made.code).toBe(0);
    const { privateKey } = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const key = join(dir, 'encrypted.key');
    await writeFile(key, privateKey, { mode: 0o600 });
    return { dir, key, cert: join(dir, 'server.crt') };
  }

  test('send: the hint names --key-passphrase-file, which send has', async () => {
    const { dir, key, cert } = await encryptedKeyAndCertificate();
    const r = await runCli(['send', '127.0.0.1:1', '--insecure', '--cert', cert, '--key', key, 'hi'], {
      cwd: dir,
    });
    expect(r).toMatchObject({ code: 3, stdout: '' });
    expect(r.stderr).toBe(
      `tlsecho: ${key} is encrypted and no passphrase was given\nhint: pass --key-passphrase-file FILE\n`,
    );
  });

  test.each([
    ['send', ['send', '127.0.0.1:1', '--insecure'], 'hi'],
    ['serve', ['serve', '--port', '0'], undefined],
  ])('%s: an empty passphrase file says so, not "wrong passphrase"', async (_name, command, message) => {
    const { dir, key, cert } = await encryptedKeyAndCertificate();
    for (const [file, content, what] of [
      ['empty.pass', '', 'empty'],
      ['blank.pass', '\r\nsecret\n', 'blank on its first line'],
    ] as const) {
      await writeFile(join(dir, file), content);
      const r = await runCli(
        [
          ...command,
          '--cert',
          cert,
          '--key',
          key,
          '--key-passphrase-file',
          file,
          ...(message ? [message] : []),
        ],
        { cwd: dir, killAfterMs: 10_000 },
      );
      expect(r).toMatchObject({ code: 3, stdout: '' });
      expect(r.stderr).toBe(
        `tlsecho: the passphrase file ${file} is ${what}: the passphrase is its first line\n`,
      );
    }
  });

  test('proxy: messages about the upstream key name the --upstream-* flags', async () => {
    const { dir, key, cert } = await encryptedKeyAndCertificate();
    const r = await runCli(
      ['proxy', '127.0.0.1:1', '-l', '0', '--insecure', '--upstream-cert', cert, '--upstream-key', key],
      { cwd: dir, killAfterMs: 10_000 },
    );
    expect(r).toMatchObject({ code: 3, stdout: '' });
    expect(r.stderr).toBe(
      `tlsecho: ${key} is encrypted and no passphrase was given\nhint: pass --upstream-key-passphrase-file FILE\n`,
    );
    const garbage = join(dir, 'garbage.key');
    await writeFile(garbage, 'garbage\n');
    const wrong = await runCli(
      ['proxy', '127.0.0.1:1', '-l', '0', '--insecure', '--upstream-cert', cert, '--upstream-key', garbage],
      { cwd: dir, killAfterMs: 10_000 },
    );
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/^tlsecho: \S+garbage\.key is not a client key \(--upstream-key\): /);
  });
});

describe('an empty file or folder name', () => {
  test.each([
    ['serve --cert', ['serve', '--port', '0', '--cert', '', '--key', 'server.key'], '--cert', 'file'],
    ['send --ca', ['send', '127.0.0.1:1', '--ca', '', 'hi'], '--ca', 'file'],
    ['send -f', ['send', '127.0.0.1:1', '--insecure', '-f', ''], '--file', 'file'],
    ['connect --record', ['connect', '127.0.0.1:1', '--insecure', '--record', ''], '--record', 'file'],
    ['gencert --out', ['gencert', '--yes', '--out', ''], '--out', 'folder'],
  ])('%s is refused, not read as the working folder', async (_name, args, flag, kind) => {
    const cwd = await makeTempDir();
    const r = await runCli(args, { cwd, input: '', killAfterMs: 10_000 });
    expectUsageError(r, new RegExp(`^tlsecho: invalid ${flag} '': expected a ${kind} name$`));
    // gencert --out '' wrote server.crt and server.key into the working folder.
    expect(await readdir(cwd)).toEqual([]);
  });
});

test('a target whose host name holds a space is a usage error, not a DNS failure', async () => {
  const r = await runCli(['send', 'local host:7000', '--insecure', 'hi']);
  expectUsageError(r, /^tlsecho: invalid target 'local host:7000': a host name holds no spaces$/);
});
