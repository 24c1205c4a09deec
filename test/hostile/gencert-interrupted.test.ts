// A gencert killed (SIGKILL: no handler runs) after the certificate is in place and before the key is. What
// it leaves must never pass for a whole set: the next gencert removes its temporary files and names them,
// and serve refuses to start on a certificate without its key (or the reverse) instead of falling back to
// an ephemeral certificate. Run `npm run build` first.
import { spawn } from 'node:child_process';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BIN, cliEnv, collect, runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';

// Loaded with --require: once gencert has linked the file named by KILL_AFTER into place, the process kills
// itself, exactly between two files of the set.
const KILL_HOOK = `
const fsp = require('node:fs/promises');
const link = fsp.link;
fsp.link = async (existing, created) => {
  await link(existing, created);
  if (String(created).endsWith(process.env.KILL_AFTER)) process.kill(process.pid, 'SIGKILL');
};
require('node:module').syncBuiltinESMExports();
`;

async function gencertKilledAfter(cwd: string, file: string): Promise<void> {
  await writeFile(join(cwd, 'kill-hook.cjs'), KILL_HOOK);
  const child = spawn(process.execPath, ['--require', './kill-hook.cjs', BIN, 'gencert'], {
    cwd,
    env: cliEnv({ KILL_AFTER: file }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const r = await collect(child);
  expect(r.signal).toBe('SIGKILL');
  await rm(join(cwd, 'kill-hook.cjs'));
}

const listing = async (dir: string) => (await readdir(dir)).sort();
const TEMP = /^\.server\.(crt|key)\.(\d+-)?[0-9a-f]{8}\.tmp$/;

describe('a gencert killed between its two files', () => {
  test('serve stops (exit 3, naming the missing key); gencert cleans up, names what it removed, and refuses until --force', async () => {
    const cwd = await makeTempDir();
    await gencertKilledAfter(cwd, 'server.crt');
    const left = await listing(join(cwd, 'certs'));
    expect(left.filter((name) => !TEMP.test(name))).toEqual(['server.crt']);
    expect(left.some((name) => /^\.server\.key\..*\.tmp$/.test(name))).toBe(true);

    const serve = await runCli(['serve', '--port', '0'], { cwd });
    expect({ code: serve.code, stdout: serve.stdout, stderr: serve.stderr }).toEqual({
      code: 3,
      stdout: '',
      stderr:
        'tlsecho: certs/server.key is missing, so certs/server.crt cannot be used (make both again with tlsecho gencert --force, or pass --cert and --key)\n',
    });

    const again = await runCli(['gencert'], { cwd });
    expect(again.code).toBe(3);
    const removed = left.filter((name) => TEMP.test(name)).map((name) => `certs/${name}`);
    expect(again.stderr).toBe(
      `tlsecho: warning: removed ${removed.join(', ')}, left by a gencert that was interrupted while writing\n` +
        'tlsecho: certs/server.crt exists but certs/server.key is missing: an incomplete set, perhaps from an interrupted gencert (pass --force to replace it)\n',
    );
    expect(await listing(join(cwd, 'certs'))).toEqual(['server.crt']);

    const forced = await runCli(['gencert', '--force'], { cwd });
    expect(forced.code).toBe(0);
    expect(await listing(join(cwd, 'certs'))).toEqual(['server.crt', 'server.key']);
  });

  test('serve with a key but no certificate in certs/: exit 3, naming the missing certificate', async () => {
    const cwd = await makeTempDir();
    expect((await runCli(['gencert'], { cwd })).code).toBe(0);
    await rm(join(cwd, 'certs/server.crt'));
    const serve = await runCli(['serve', '--port', '0'], { cwd });
    expect({ code: serve.code, stdout: serve.stdout, stderr: serve.stderr }).toEqual({
      code: 3,
      stdout: '',
      stderr:
        'tlsecho: certs/server.crt is missing, so certs/server.key cannot be used (make both again with tlsecho gencert --force, or pass --cert and --key)\n',
    });
  });
});
