import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, onTestFinished, test } from 'vitest';
import { main } from '../../src/cli/main.js';
import { perWorkerMaxConnections } from '../../src/server/serve-workers.js';
import { createMemoryIo } from '../helpers/memory-io.js';
import { runCli, spawnCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { startTlsecho, until, watch, writePki } from '../deploy/helpers.js';

// `tlsecho serve --workers` through the real CLI: flags, start-up failures, the shared ephemeral
// certificate, text log prefixes, and --max-accepts counted across workers.

describe('tlsecho serve --workers', () => {
  test.each(['0', 'many', '1.5', '257'])(
    '--workers %s is a usage error (exit 2, one line)',
    async (value) => {
      // In-process: the flag is refused while parsing, before anything could fork.
      const io = createMemoryIo();
      expect(await main(['serve', '--workers', value, '--port', '0'], io)).toBe(2);
      expect(io.errors().split('\n')[0]).toBe(
        `tlsecho: invalid --workers '${value}': use a number from 1 to 256, or auto`,
      );
    },
  );

  test('a missing certificate fails in the primary, before any worker starts (exit 3, no restarts)', async () => {
    const dir = await makeTempDir();
    const result = await runCli(
      ['serve', '--workers', '2', '--port', '0', '--cert', 'nope.crt', '--key', 'nope.key'],
      {
        cwd: dir,
      },
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^tlsecho: .*nope\.crt/);
    expect(result.stderr).not.toMatch(/\[w\d\]|worker/);
  });

  test('a port in use fails in every worker: the primary stops with their exit code 4 instead of restarting', async () => {
    const busy = net.createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    onTestFinished(() => void busy.close());
    const { port } = busy.address() as net.AddressInfo;
    const result = await runCli(['serve', '--workers', '2', '--port', String(port)]);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(new RegExp(`^\\[w\\d\\] tlsecho: .*127\\.0\\.0\\.1:${port}`, 'm'));
    expect(result.stderr).toMatch(
      /^tlsecho: worker w\d \(pid \d+\) exited with code 4 before listening; stopped$/m,
    );
    expect(result.stderr).not.toMatch(/restarting/);
  });

  test('without a certificate every worker serves the one ephemeral certificate the primary pinned', async () => {
    const dir = await makeTempDir();
    const child = spawnCli(['serve', '--workers', '2', '--port', '0'], { cwd: dir });
    child.stdin!.end();
    const server = watch(child, 'tlsecho serve');
    const ready = await server.waitFor(
      /^listening on 127\.0\.0\.1:(\d+) with 2 workers \(packet 4, echo\)$/m,
    );
    const pin = (await server.waitFor(/^verify it with: tlsecho connect --pin (sha256:[0-9a-f]{64}) /m))[1]!;
    // Text lines of the workers carry their number. They reach the primary through each worker's stderr
    // pipe, which can lag behind the primary's own line, so wait for them rather than expect them now.
    await server.waitFor(/^\[w1\] listening on /m);
    await server.waitFor(/^\[w2\] listening on /m);
    // Round-robin sends consecutive connections to both workers; every one verifies against the pin.
    const results = [];
    for (const message of ['one', 'two']) {
      results.push(await runCli(['send', `127.0.0.1:${ready[1]}`, '--pin', pin, message]));
    }
    expect(results.map((result) => [result.code, result.stdout])).toEqual([
      [0, 'one\n'],
      [0, 'two\n'],
    ]);
    await until(
      () =>
        /^\[w1\] \[#\d+\] accepted/m.test(server.text()) && /^\[w2\] \[#\d+\] accepted/m.test(server.text()),
      'both workers to accept',
    );
    child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });

  test('--max-accepts counts connections closed on all workers, then exits 0', async () => {
    const dir = await makeTempDir();
    const pki = await writePki(dir);
    const server = await startTlsecho([
      '--workers',
      '2',
      '--port',
      '0',
      '--cert',
      pki.certFile,
      '--key',
      pki.keyFile,
      '--max-accepts',
      '3',
      '--json',
    ]);
    for (const message of ['a', 'b', 'c']) {
      const result = await runCli([
        'send',
        `127.0.0.1:${server.port}`,
        '--ca',
        pki.caFile,
        '--servername',
        'localhost',
        message,
      ]);
      expect(result.stderr + result.stdout).toBe(`${message}\n`);
    }
    expect(await server.exited).toEqual({ code: 0, signal: null });
    const workers = new Set(
      server
        .events()
        .filter((event) => event.event === 'accepted')
        .map((event) => event.worker),
    );
    expect(workers).toEqual(new Set([1, 2]));
    expect(
      server.events().some((event) => event.msg === '3 connections closed (--max-accepts 3); stopping'),
    ).toBe(true);
  });
});

describe('the limits split across workers', () => {
  test.each([
    [1000, 2, 500],
    [10, 4, 3],
    [1, 4, 1],
    [7, 1, 7],
  ])('--max-connections %d over %d workers gives each %d', (total, workers, each) => {
    expect(perWorkerMaxConnections(total, workers)).toBe(each);
  });
});
