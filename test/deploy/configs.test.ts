import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BIN, runCli } from '../helpers/run-cli.js';
import { needs } from '../helpers/system-tools.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import {
  acceptedPeers,
  connectClient,
  DOCS_DEPLOY,
  exampleConfig,
  freePort,
  retry,
  runProgram,
  startProgram,
  startTlsecho,
  until,
  writePki,
} from './helpers.js';

// Every example in docs/deploy is checked by the tool that reads it, and run where it can be on loopback.
// (haproxy.cfg and haproxy-tls-check.cfg also run in haproxy.test.ts.)

const withHaproxy = needs('haproxy');
const withNginx = needs('nginx');
const withSystemdAnalyze = needs('systemd-analyze');

const EXAMPLES = [
  'haproxy.cfg',
  'haproxy-tls-check.cfg',
  'nginx.conf',
  'tlsecho.service',
  'tlsecho.socket',
  'tlsecho-socket.conf',
  'kubernetes.yaml',
];

/** The items of each YAML block sequence under `key:` (the only YAML shape the example uses for lists). */
function yamlLists(text: string, key: string): string[][] {
  const lists: string[][] = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (line.trim() !== `${key}:`) return;
    const items: string[] = [];
    for (const next of lines.slice(index + 1)) {
      const item = /^\s*- (.*)$/.exec(next);
      if (!item) break;
      items.push(item[1]!.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1'));
    }
    lists.push(items);
  });
  return lists;
}

describe('docs/deploy examples', () => {
  test('docs/deploy.md shows each example file exactly as it is', async () => {
    const guide = await readFile(join(DOCS_DEPLOY, '..', 'deploy.md'), 'utf8');
    for (const file of EXAMPLES) {
      const text = await readFile(join(DOCS_DEPLOY, file), 'utf8');
      expect(guide, `docs/deploy.md does not contain docs/deploy/${file} verbatim`).toContain(text.trimEnd());
    }
  });

  withHaproxy.test('haproxy -c accepts haproxy.cfg as written', () => {
    const result = runProgram('haproxy', ['-c', '-f', join(DOCS_DEPLOY, 'haproxy.cfg')]);
    expect(result).toMatchObject({ status: 0 });
    expect(result.output).toMatch(/Configuration file is valid/);
  });

  withNginx.test('nginx -t accepts nginx.conf as written', () => {
    const result = runProgram('nginx', ['-t', '-c', join(DOCS_DEPLOY, 'nginx.conf'), '-e', 'stderr']);
    expect(result.output).toMatch(/test is successful/);
    expect(result.status).toBe(0);
  });

  withNginx.test(
    'nginx.conf for real: proxy_protocol v1 to two servers that log the real client',
    async () => {
      const dir = await makeTempDir();
      const pki = await writePki(dir);
      const backends = await Promise.all(
        [1, 2].map(() =>
          startTlsecho([
            '--port',
            '0',
            '--proxy-protocol',
            '--cert',
            pki.certFile,
            '--key',
            pki.keyFile,
            '--json',
          ]),
        ),
      );
      const frontendPort = await freePort();
      const config = await exampleConfig('nginx.conf', [
        ['listen 7443;', `listen 127.0.0.1:${frontendPort};`],
        ['10.0.0.11:7000', `127.0.0.1:${backends[0]!.port}`],
        ['10.0.0.12:7000', `127.0.0.1:${backends[1]!.port}`],
        ['worker_processes auto;', 'worker_processes 1;'],
      ]);
      const path = join(dir, 'nginx.conf');
      await writeFile(path, config);
      const nginx = startProgram(
        'nginx',
        ['-c', path, '-e', 'stderr', '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`],
        'nginx',
      );
      const clients = await Promise.all(
        [1, 2, 3, 4].map(() =>
          retry(() => connectClient(frontendPort, pki.caPem), 'nginx to pass a client through').catch(
            (error: Error) => {
              throw new Error(`${error.message}\n--- nginx:\n${nginx.text()}`);
            },
          ),
        ),
      );
      for (const client of clients) expect(await client.echo('via nginx')).toBe('via nginx');
      const served = () => backends.flatMap((backend) => acceptedPeers(backend));
      await until(() => served().length === clients.length, 'every client to be logged');
      expect(served().sort()).toEqual(clients.map((client) => `127.0.0.1 ${client.localPort}`).sort());
      // least_conn spread the held connections over both servers.
      for (const backend of backends) expect(acceptedPeers(backend).length).toBeGreaterThan(0);
    },
  );

  withSystemdAnalyze.test(
    'tlsecho.socket with its drop-in passes systemd-analyze verify, and the drop-in lets serve take the socket',
    async () => {
      const dir = await makeTempDir();
      const service = await exampleConfig('tlsecho.service', [['/usr/local/bin/tlsecho', BIN]]);
      await writeFile(join(dir, 'tlsecho.service'), service);
      await writeFile(join(dir, 'tlsecho.socket'), await exampleConfig('tlsecho.socket', []));
      expect(runProgram('systemd-analyze', ['verify', join(dir, 'tlsecho.socket')])).toEqual({
        status: 0,
        output: '',
      });
      const dropIn = await exampleConfig('tlsecho-socket.conf', []);
      const execStart = [...dropIn.matchAll(/^ExecStart=(.*)$/gm)].map((match) => match[1]);
      // Cleared first, then given again without --host/--port, which serve refuses beside a passed socket.
      expect(execStart[0]).toBe('');
      expect(execStart[1]).toMatch(/^\/usr\/local\/bin\/tlsecho serve /);
      expect(execStart[1]).not.toMatch(/--host|--port/);
      expect(dropIn).toMatch(/^Requires=tlsecho\.socket$/m);
      expect(await exampleConfig('tlsecho.socket', [])).toMatch(/^FileDescriptorName=tlsecho$/m);
    },
  );

  withSystemdAnalyze.test(
    'tlsecho.service passes systemd-analyze verify, and its ExecStart runs',
    async () => {
      const dir = await makeTempDir();
      const unit = await exampleConfig('tlsecho.service', [['/usr/local/bin/tlsecho', BIN]]);
      const path = join(dir, 'tlsecho.service');
      await writeFile(path, unit);
      expect(runProgram('systemd-analyze', ['verify', path])).toEqual({ status: 0, output: '' });

      const execStart = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(' ');
      expect(execStart.slice(0, 2)).toEqual([BIN, 'serve']);
      const pki = await writePki(dir);
      const args = execStart
        .slice(2)
        .join(' ')
        .replace('--host 0.0.0.0', '--host 127.0.0.1')
        .replace('--port 7000', '--port 0')
        .replaceAll('%d/', `${dir}/`)
        .split(' ');
      expect(args).toContain('--workers');
      const server = await startTlsecho(args);
      server.child.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
      expect(pki.certFile.startsWith(dir)).toBe(true);
    },
  );

  test('kubernetes.yaml: the container args start a server that both probes find healthy', async () => {
    const dir = await makeTempDir();
    const pki = await writePki(dir);
    const yaml = await readFile(join(DOCS_DEPLOY, 'kubernetes.yaml'), 'utf8');
    const port = String(await freePort());
    const inPod = (words: string[]) =>
      words.map((word) =>
        word
          .replace('/etc/tlsecho/tls/tls.crt', pki.certFile)
          .replace('/etc/tlsecho/tls/tls.key', pki.keyFile)
          .replace('/etc/tlsecho/tls/ca.crt', pki.caFile)
          .replace('0.0.0.0', '127.0.0.1')
          .replace(/^7000$/, port)
          .replace('127.0.0.1:7000', `127.0.0.1:${port}`),
      );
    const [args] = yamlLists(yaml, 'args');
    const probes = yamlLists(yaml, 'command');
    expect(args?.[0]).toBe('serve');
    expect(probes).toHaveLength(2);
    const server = await startTlsecho(inPod(args!.slice(1)));
    expect(server.port).toBe(Number(port));
    for (const probe of probes) expect(probe.slice(0, 2)).toEqual(['tlsecho', 'send']);
    const results = await Promise.all(probes.map((probe) => runCli(inPod(probe.slice(1)))));
    for (const [index, result] of results.entries()) {
      expect(result, `probe ${probes[index]!.join(' ')}`).toMatchObject({ code: 0 });
    }
    // And they fail once the server is gone, so a dead pod is noticed.
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    const failed = await runCli(inPod(probes[0]!.slice(1)));
    expect(failed.code).toBe(4);
  });
});
