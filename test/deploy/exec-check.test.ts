import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BIN } from '../helpers/run-cli.js';
import { needs } from '../helpers/system-tools.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import {
  DOCS_DEPLOY,
  exampleConfig,
  freePort,
  runProgram,
  startProgram,
  startTlsecho,
  writePki,
  type Pki,
} from './helpers.js';

// The exec health check example: Debian's HAProxy runs docs/deploy/tlsecho-check.sh for each server, and
// `tlsecho send --proxy-header v2 --expect-echo` reaches `serve --proxy-protocol` servers directly.

const withHaproxy = needs('haproxy');

const CONFIG = 'haproxy-exec-check.cfg';
const SCRIPT = 'tlsecho-check.sh';

function startBackend(pki: Pki, port: number) {
  return startTlsecho([
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--proxy-protocol',
    '--cert',
    pki.certFile,
    '--key',
    pki.keyFile,
    '--json',
  ]);
}

describe('HAProxy exec health check with tlsecho send --proxy-header v2', () => {
  test('docs/deploy.md shows the configuration and the script exactly as they are', async () => {
    const guide = await readFile(join(DOCS_DEPLOY, '..', 'deploy.md'), 'utf8');
    for (const file of [CONFIG, SCRIPT]) {
      const text = await readFile(join(DOCS_DEPLOY, file), 'utf8');
      expect(guide, `docs/deploy.md does not contain docs/deploy/${file} verbatim`).toContain(text.trimEnd());
    }
  });

  withHaproxy.test(
    'a server is down while nothing listens, and up once serve --proxy-protocol answers the check',
    async () => {
      const dir = await makeTempDir();
      const pki = await writePki(dir);
      // The checks' PATH holds tlsecho, as `npm install -g` would put it, and the node that runs it.
      const bin = join(dir, 'bin');
      await mkdir(bin);
      await symlink(BIN, join(bin, 'tlsecho'));
      const script = join(dir, 'tlsecho-check');
      await writeFile(script, await exampleConfig(SCRIPT, [['/etc/tlsecho/ca.crt', pki.caFile]]), {
        mode: 0o755,
      });
      const [frontendPort, upPort, downPort] = [await freePort(), await freePort(), await freePort()];
      const up = await startBackend(pki, upPort);
      const config = join(dir, CONFIG);
      await writeFile(
        config,
        await exampleConfig(CONFIG, [
          ['bind :7443', `bind 127.0.0.1:${frontendPort}`],
          ['"/usr/local/bin:/usr/bin:/bin"', `"${bin}:${dirname(process.execPath)}:/usr/bin:/bin"`],
          ['/usr/local/bin/tlsecho-check', script],
          // Faster checks than production, still long enough for Node to start on a busy machine.
          ['inter 5s fall 2 rise 2', 'inter 2s fall 1 rise 1'],
          ['10.0.0.11:7000', `127.0.0.1:${upPort}`],
          ['10.0.0.12:7000', `127.0.0.1:${downPort}`],
        ]),
      );
      expect(runProgram('haproxy', ['-c', '-f', config]).output).toMatch(/Configuration file is valid/);
      const haproxy = startProgram('haproxy', ['-f', config, '-db'], 'haproxy');

      // Nothing listens on app2's port: tlsecho-check exits 4, and HAProxy says so.
      await haproxy.waitFor(/Server tlsecho\/app2 is DOWN, reason: External check error, code: 4/, 15_000);
      // Started, app2 passes its next check: the LOCAL header is accepted and the message echoed.
      const later = await startBackend(pki, downPort);
      await haproxy.waitFor(/Server tlsecho\/app2 is UP, reason: External check passed/, 15_000);
      const check = await later.waitForEvent((event) => event.event === 'accepted', 'the check connection');
      expect(check.remoteAddress).toBe('127.0.0.1');

      // app1 passed every check all along, and no server refused a check for want of a header.
      expect(haproxy.text()).not.toMatch(/app1 is DOWN/);
      expect(up.events().filter((event) => event.event === 'accepted').length).toBeGreaterThan(0);
      for (const server of [up, later]) {
        expect(server.events().filter((event) => event.event === 'proxy-header-refused')).toEqual([]);
      }
    },
    60_000,
  );
});
