import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { makeTempDir } from '../helpers/tmpdir.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

// What a user does: `npm pack`, `npm install -g ./tlsecho-*.tgz`, then plain `tlsecho` from any folder.
test('a packed and globally installed tlsecho runs from another folder', { timeout: 180_000 }, async () => {
  const packDir = await makeTempDir();
  const prefix = await makeTempDir();
  const elsewhere = await makeTempDir();
  await run('npm', ['pack', '--silent', '--pack-destination', packDir], {
    cwd: root,
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  const [tarball] = (await readdir(packDir)).filter((name) => name.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  await run(
    'npm',
    ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', join(packDir, tarball!)],
    {
      cwd: elsewhere,
      env: { ...process.env, npm_config_loglevel: 'error' },
    },
  );
  const bin = join(prefix, 'bin', 'tlsecho');
  const version = await run(bin, ['--version'], { cwd: elsewhere });
  expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  const help = await run(bin, ['--help'], { cwd: elsewhere });
  expect(help.stdout).toContain('tlsecho serve');
  // The library entry point resolves with its types from the installed package.
  const installed = join(prefix, 'lib', 'node_modules', 'tlsecho');
  const { stdout } = await run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import('tlsecho').then((m) => console.log(typeof m.FrameDecoder, typeof m.encodeFrame))",
    ],
    {
      cwd: join(installed, '..', '..'),
    },
  );
  expect(stdout.trim()).toBe('function function');
  await expect(readdir(join(installed, 'dist'))).resolves.toContain('index.d.ts');
});
