import { createServer, type Socket } from 'node:net';
import { expect, onTestFinished, test } from 'vitest';
import { BIN, runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { needs } from '../helpers/system-tools.js';
import { startTerminal } from './helpers/terminal.js';

// What the man page promises under ENVIRONMENT: a spinner only on a terminal and never under CI, colour
// only on a terminal and never with NO_COLOR or --no-color. `connect --insecure` to a server that never
// answers the handshake shows both: a (yellow) warning, then a spinner until --connect-timeout gives up.

const CONNECT_TIMEOUT = '1500ms';
const ESC = '\u001b';
const SGR = new RegExp(`${ESC}\\[[0-9;]*m`); // any colour or attribute change
const YELLOW = new RegExp(`${ESC}\\[(?:[0-9;]*;)?33m`);
const SPINNER_FRAME = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

/** A TCP server that accepts and then says nothing, so a TLS client waits for its handshake. */
async function startSilentServer(): Promise<number> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as { port: number }).port;
}

needs('tmux').describe('tlsecho connect on a terminal', () => {
  const cases: Array<{
    name: string;
    env: Record<string, string>;
    flags: string[];
    spinner: boolean;
    colour: boolean;
  }> = [
    { name: 'a plain terminal', env: {}, flags: [], spinner: true, colour: true },
    { name: 'NO_COLOR=1', env: { NO_COLOR: '1' }, flags: [], spinner: true, colour: false },
    { name: '--no-color', env: {}, flags: ['--no-color'], spinner: true, colour: false },
    { name: 'CI=true', env: { CI: 'true' }, flags: [], spinner: false, colour: true },
  ];

  test('spins only without CI, colours only without NO_COLOR and --no-color', async () => {
    const port = await startSilentServer();
    const home = await makeTempDir('tlsecho-tty-home-');
    // The four terminals run side by side: each waits out the same connect timeout.
    const runs = await Promise.all(
      cases.map(async (run) => {
        const terminal = await startTerminal(
          [
            process.execPath,
            BIN,
            'connect',
            `127.0.0.1:${port}`,
            '--insecure',
            '--connect-timeout',
            CONNECT_TIMEOUT,
            ...run.flags,
          ],
          { cwd: home, env: { HOME: home, LANG: 'C.UTF-8', ...run.env } },
        );
        return { run, ...(await terminal.watchUntilExit()) };
      }),
    );
    for (const { run, status, screens } of runs) {
      const final = screens.at(-1)!;
      expect(status, run.name).toBe(6);
      expect(final, run.name).toContain('tlsecho: warning: certificate verification is off (--insecure)');
      expect(final, run.name).toMatch(/no TLS handshake from 127\.0\.0\.1:\d+ within 1\.5s/);
      const spun = screens.some((screen) => /connecting to 127\.0\.0\.1/.test(screen));
      expect(spun, `${run.name}: spinner shown`).toBe(run.spinner);
      if (run.spinner)
        expect(
          screens.some((screen) => SPINNER_FRAME.test(screen)),
          run.name,
        ).toBe(true);
      if (run.colour) expect(final, `${run.name}: warning in yellow`).toMatch(YELLOW);
      else
        expect(
          screens.filter((screen) => SGR.test(screen)),
          `${run.name}: colour codes`,
        ).toEqual([]);
    }
  }, 30_000);
});

test('piped, with neither CI nor NO_COLOR set: no spinner and no escape codes on stderr', async () => {
  const port = await startSilentServer();
  const r = await runCli(
    ['connect', `127.0.0.1:${port}`, '--insecure', '--connect-timeout', CONNECT_TIMEOUT],
    { env: { CI: undefined, NO_COLOR: undefined } },
  );
  expect(r.code).toBe(6);
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toContain(ESC);
  expect(r.stderr).not.toMatch(SPINNER_FRAME);
  expect(r.stderr).not.toContain('connecting to');
  expect(r.stderr.split('\n').filter(Boolean)).toEqual([
    expect.stringMatching(/^tlsecho: warning: certificate verification is off \(--insecure\)/),
    expect.stringMatching(/^tlsecho: no TLS handshake from 127\.0\.0\.1:\d+ within 1\.5s$/),
    expect.stringMatching(/^hint: /),
  ]);
});
