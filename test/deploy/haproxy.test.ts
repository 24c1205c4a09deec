import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { needs } from '../helpers/system-tools.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import {
  acceptedPeers,
  connectClient,
  exampleConfig,
  freePort,
  retry,
  runProgram,
  startProgram,
  startTlsecho,
  until,
  writePki,
  type Client,
  type Pki,
  type Tlsecho,
} from './helpers.js';

// A real HAProxy (Debian's haproxy package) in TCP mode on loopback, running the example configuration
// from docs/deploy with loopback addresses and a fast health check, in front of two
// `tlsecho serve --proxy-protocol` processes.

async function startBackends(pki: Pki, count: number): Promise<Tlsecho[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      startTlsecho([
        '--port',
        '0',
        '--proxy-protocol',
        '--cert',
        pki.certFile,
        '--key',
        pki.keyFile,
        '--drain-timeout',
        '2s',
        '--json',
      ]),
    ),
  );
}

async function startHaproxy(
  dir: string,
  file: string,
  backends: Tlsecho[],
  extra: Array<[string, string]> = [],
) {
  const frontendPort = await freePort();
  const config = await exampleConfig(file, [
    ['bind :7443', `bind 127.0.0.1:${frontendPort}`],
    ['10.0.0.11:7000', `127.0.0.1:${backends[0]!.port}`],
    ['10.0.0.12:7000', `127.0.0.1:${backends[1]!.port}`],
    ...extra,
  ]);
  const path = join(dir, file);
  await writeFile(path, config);
  const check = runProgram('haproxy', ['-c', '-f', path]);
  expect(check.output).toMatch(/Configuration file is valid/);
  const haproxy = startProgram('haproxy', ['-f', path, '-db'], 'haproxy');
  // Ready when the frontend accepts a TLS client all the way through to a backend.
  return { haproxy, frontendPort };
}

/** Which backend logged this client's source port as its peer: the address HAProxy's header named. */
function backendOf(client: Client, backends: Tlsecho[]): number {
  return backends.findIndex((backend) => acceptedPeers(backend).includes(`127.0.0.1 ${client.localPort}`));
}

needs('haproxy').describe('HAProxy with send-proxy-v2 in front of two tlsecho servers', () => {
  test('every exchange succeeds, servers log the real client, and a stopped server loses only its own clients', async () => {
    const dir = await makeTempDir();
    const pki = await writePki(dir);
    const backends = await startBackends(pki, 2);
    const { haproxy, frontendPort } = await startHaproxy(dir, 'haproxy.cfg', backends, [
      ['inter 2s fall 2 rise 2', 'inter 100ms fall 1 rise 1'],
    ]);
    const first = await retry(
      () => connectClient(frontendPort, pki.caPem),
      'HAProxy to pass a client through',
    );
    // leastconn spreads connections held open over both servers.
    const clients = [
      first,
      ...(await Promise.all([1, 2, 3].map(() => connectClient(frontendPort, pki.caPem)))),
    ];
    for (const [index, client] of clients.entries()) {
      for (const round of [1, 2, 3]) {
        expect(await client.echo(`client ${index} round ${round}`)).toBe(`client ${index} round ${round}`);
      }
    }
    // Each server names the clients it served by their own address and source port, not HAProxy's.
    await until(
      () => clients.every((client) => backendOf(client, backends) >= 0),
      'both servers to log their clients',
    );
    const onBackend = (index: number) => clients.filter((client) => backendOf(client, backends) === index);
    expect(onBackend(0).length).toBeGreaterThan(0);
    expect(onBackend(1).length).toBeGreaterThan(0);
    for (const backend of backends) {
      for (const peer of acceptedPeers(backend)) expect(peer).toMatch(/^127\.0\.0\.1 \d+$/);
    }

    // Stop server 0: its clients leave first, so its drain is immediate.
    for (const client of onBackend(0)) client.socket.end();
    backends[0]!.child.kill('SIGTERM');
    expect((await backends[0]!.exited).code).toBe(0);
    await haproxy.waitFor(/Server tlsecho\/app1 is DOWN/);

    // The clients of server 1 never noticed.
    for (const client of onBackend(1)) expect(await client.echo('still here')).toBe('still here');
    // New clients all reach the survivor.
    const later = await Promise.all([1, 2, 3].map(() => connectClient(frontendPort, pki.caPem)));
    for (const client of later) expect(await client.echo('after the stop')).toBe('after the stop');
    await until(
      () => later.every((client) => backendOf(client, backends) === 1),
      'server 1 to log the new clients',
    );
    // HAProxy's TCP health checks (PROXY LOCAL, then close) are not logged as failures.
    expect(backends[1]!.events().filter((event) => event.event === 'handshake-failed')).toEqual([]);
  });

  test('the TLS health check example: HAProxy completes verified handshakes with each server', async () => {
    const dir = await makeTempDir();
    const pki = await writePki(dir);
    const backends = await startBackends(pki, 2);
    await startHaproxy(dir, 'haproxy-tls-check.cfg', backends, [
      ['ca-file /etc/tlsecho/ca.crt', `ca-file ${pki.caFile}`],
      ['inter 10s', 'inter 100ms'],
    ]);
    // With no client at all, each server sees HAProxy's checks as TLS connections (the LOCAL header
    // means: use the real address, HAProxy's own).
    for (const backend of backends) {
      const check = await backend.waitForEvent(
        (event) => event.event === 'accepted',
        'a health-check connection',
      );
      expect(check.remoteAddress).toBe('127.0.0.1');
      expect(check.protocol).toBe('TLSv1.3');
    }
  });
});
