import { execFile as execFileCallback } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { encodeFrame } from '../../src/codec/encoder.js';
import { runCli } from '../helpers/run-cli.js';
import { needs } from '../helpers/system-tools.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { MAN_PAGE_FILE, manSections, plainRoff, readManPage } from './helpers/documented.js';

const execFile = promisify(execFileCallback);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  man?: string[];
  files?: string[];
};

const withGroff = needs('groff');
const withMan = needs('man');
const env = { ...process.env, MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat', LANG: 'C.UTF-8' };

const sections = manSections(readManPage());
const section = (title: string) => plainRoff((sections.get(title) ?? []).join('\n'));

test('the page has every section the manual promises, in order', () => {
  const titles = [...sections.keys()];
  const expected = [
    'NAME',
    'SYNOPSIS',
    'DESCRIPTION',
    'TLSECHO GENCERT',
    'TLSECHO SERVE',
    'TLSECHO CONNECT',
    'TLSECHO SEND',
    'TLSECHO BENCH',
    'TLSECHO PROXY',
    'TLSECHO REPLAY',
    'TLSECHO COMPLETION',
    'GLOBAL OPTIONS',
    'FRAMING',
    'CERTIFICATES',
    'HANDLERS',
    'SHELL COMPLETION',
    'EXIT STATUS',
    'ENVIRONMENT',
    'FILES',
    'EXAMPLES',
    'SEE ALSO',
  ];
  expect(titles).toEqual(expected);
  expect(section('SEE ALSO')).toMatch(/openssl\(1\),\s+ncat\(1\),\s+socat\(1\)/);
  for (const name of ['TLSECHO_', 'NO_COLOR', 'CI']) expect(section('ENVIRONMENT')).toContain(name);
  for (const name of ['REMOTE_ADDR', 'SSL_CLIENT_S_DN_CN', 'python3 -u', 'docs/handlers.md']) {
    expect(section('HANDLERS')).toContain(name);
  }
  expect(section('FILES')).toContain('./certs/server.crt');
});

test('FRAMING shows hello as each header size writes it, byte for byte', () => {
  const framing = section('FRAMING');
  for (const size of [1, 2, 4] as const) {
    const bytes = Buffer.concat(encodeFrame(Buffer.from('hello'), size));
    const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
    expect(framing).toContain(`packet ${size}:  ${hex}`);
  }
  expect(framing).toContain('00 00 00 05 68 65 6c 6c 6f');
  for (const option of ['{packet, 1}', '{packet, 2}', '{packet, 4}', '{packet, line}', 'packet_size']) {
    expect(framing).toContain(option);
  }
  expect(section('DESCRIPTION')).toContain('{packet, N}');
});

describe('what ENVIRONMENT says about TLSECHO_ variables holds', () => {
  test('any option can be set as TLSECHO_OPTION_NAME', async () => {
    const r = await runCli(['send', '127.0.0.1:1', 'hi'], { env: { TLSECHO_PACKET: '3' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("invalid packet mode '3'");
  });

  test('a command that lacks the option a variable names ignores it', async () => {
    const dir = await makeTempDir();
    const r = await runCli(['gencert', '--out', dir], { env: { TLSECHO_PORT: '7000' } });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('Unknown argument');
  });
});

withGroff.describe('groff', () => {
  test('renders the page with every warning on and prints none', async () => {
    const { stdout, stderr } = await execFile('groff', ['-man', '-ww', '-z', MAN_PAGE_FILE]);
    expect(stderr).toBe('');
    expect(stdout).toBe('');
  });
});

withMan.describe('man', () => {
  test('man -l shows the page', async () => {
    const { stdout, stderr } = await execFile('man', ['-l', MAN_PAGE_FILE], { env });
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^TLSECHO\(1\) +User Commands +TLSECHO\(1\)$/m);
    expect(stdout).toContain('EXIT STATUS');
  });

  test('after a global install, man tlsecho finds it', async () => {
    expect(packageJson.man).toEqual(['./man/tlsecho.1']);
    expect(packageJson.files).toContain('man/');
    const prefix = await makeTempDir('tlsecho-prefix-');
    // From the folder, npm links the package instead of copying it; it still installs the man page.
    await execFile(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--offline',
        ROOT,
      ],
      { env: { ...process.env, npm_config_loglevel: 'error' } },
    );
    const manpath = join(prefix, 'share', 'man');
    const { stdout: where } = await execFile('man', ['-w', 'tlsecho'], { env: { ...env, MANPATH: manpath } });
    // npm links the page into the prefix; man reports the file the link leads to.
    expect(realpathSync(join(manpath, 'man1', 'tlsecho.1'))).toBe(MAN_PAGE_FILE);
    expect(where.trim()).toBe(MAN_PAGE_FILE);
    const { stdout } = await execFile('man', ['tlsecho'], { env: { ...env, MANPATH: manpath } });
    expect(stdout).toMatch(/tlsecho - TLS framed messaging/);
  }, 60_000);
});
