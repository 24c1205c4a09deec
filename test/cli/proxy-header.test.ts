import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toConnectOptions, type ConnectArgs } from '../../src/cli/commands/connect.js';
import { toSendOptions, type SendArgs } from '../../src/cli/commands/send.js';
import type { SendOptions } from '../../src/client/send.js';
import type { ConnectOptions } from '../../src/client/connect-session.js';
import type { ClientConnectionOptions } from '../../src/client/open-client.js';
import { runCli } from '../helpers/run-cli.js';
import { expectUsageError, parseThroughMain } from '../helpers/parse-command.js';
import { makeSharedTestPki } from '../client/helpers/pki.js';
import { startServeChild, type ServeChild } from '../client/helpers/serve-child.js';

// `--proxy-header`: an exec health check (HAProxy external-check, a Kubernetes exec probe) reaching a
// `serve --proxy-protocol` backend directly, as child processes with verification on.

let shared: { pki: Awaited<ReturnType<typeof makeSharedTestPki>>; server: ServeChild };
beforeAll(async () => {
  const pki = await makeSharedTestPki();
  const server = await startServeChild(
    ['--proxy-protocol', '--cert', pki.server.certFile, '--key', pki.server.keyFile],
    { shared: true },
  );
  shared = { pki, server };
});
afterAll(async () => {
  await shared?.server.stop();
  await shared?.pki.cleanup();
});

function check(extra: string[]) {
  const { pki, server } = shared;
  return runCli([
    'send',
    `127.0.0.1:${server.port}`,
    '--ca',
    pki.caFile,
    ...extra,
    '--expect-echo',
    'ready?',
  ]);
}

describe('send --expect-echo against serve --proxy-protocol', () => {
  test.each(['v2', 'v1'])('with --proxy-header %s: the check passes (exit 0)', async (version) => {
    const accepted = () => shared.server.log().match(/accepted 127\.0\.0\.1:\d+ TLS/g)?.length ?? 0;
    const before = accepted();
    const r = await check(['--proxy-header', version]);
    expect(r).toMatchObject({ code: 0, stdout: 'ready?\n', stderr: '' });
    // LOCAL (v2) and UNKNOWN (v1) tell the server to log the connection's own address.
    await expect.poll(accepted).toBe(before + 1);
  });

  test('without it: the server refuses, and the check fails with exit 5, one line and a hint naming the flag', async () => {
    const r = await check([]);
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual([
      `tlsecho: 127.0.0.1:${shared.server.port} closed the connection during the TLS handshake: the server may be full (serve --max-connections), or refusing this client`,
      'hint: try again later if the server is busy; otherwise, is it a TLS server, and does it accept this client (certificate, TLS version, PROXY header: --proxy-header)?',
      '',
    ]);
    await expect
      .poll(() => shared.server.log())
      .toContain('expected a PROXY protocol header, got a TLS handshake');
  });

  test('connect --proxy-header v2 pipes stdin through the same backend', async () => {
    const { pki, server } = shared;
    const r = await runCli(
      ['connect', `127.0.0.1:${server.port}`, '--ca', pki.caFile, '--proxy-header', 'v2'],
      { input: 'a\nb\n' },
    );
    expect(r).toMatchObject({ code: 0, stdout: 'a\nb\n', stderr: '' });
  });

  test('TLSECHO_PROXY_HEADER sets it too, as every flag can be set from the environment', async () => {
    const { pki, server } = shared;
    const r = await runCli(['send', `127.0.0.1:${server.port}`, '--ca', pki.caFile, '--expect-echo', 'env'], {
      env: { TLSECHO_PROXY_HEADER: 'v2' },
    });
    expect(r).toMatchObject({ code: 0, stdout: 'env\n' });
  });
});

describe('--proxy-header flags → options', () => {
  async function parse(command: 'send' | 'connect', args: string[]): Promise<ClientConnectionOptions> {
    if (command === 'send') return parseThroughMain<SendArgs, SendOptions>('send', args, toSendOptions);
    return parseThroughMain<ConnectArgs, ConnectOptions>('connect', args, toConnectOptions);
  }

  test.each([
    ['send', ['h:1', '--proxy-header', 'v2', 'x'], 'v2'],
    ['send', ['h:1', '--proxy-header', 'v1', 'x'], 'v1'],
    ['send', ['h:1', 'x'], undefined],
    ['connect', ['h:1', '--proxy-header', 'v2'], 'v2'],
    ['connect', ['h:1', '--proxy-header=v1'], 'v1'],
    ['connect', ['h:1'], undefined],
  ] as const)('%s %j → proxyHeader %s', async (command, args, expected) => {
    expect((await parse(command, [...args])).proxyHeader).toBe(expected);
  });

  test.each(['send', 'connect'] as const)(
    '%s refuses a version the protocol does not have',
    async (command) => {
      await expectUsageError(
        parse(command, ['h:1', '--proxy-header', 'v3']),
        "tlsecho: invalid --proxy-header 'v3': expected v1, v2",
      );
    },
  );
});
