// `tlsecho connect` on a real pseudo-terminal: tmux runs it, the test presses keys with send-keys and reads
// the screen with capture-pane, as a person at the keyboard would. Run `npm run build` first.
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { frame, startTestServer } from '../client/helpers/framed-server.js';
import { makeTestPki } from '../client/helpers/pki.js';
import { startServeWithPki } from '../client/helpers/serve-child.js';
import { startTerminal, type Terminal } from '../docs/helpers/terminal.js';
import { BIN } from '../helpers/run-cli.js';
import { needs } from '../helpers/system-tools.js';
import { makeTempDir } from '../helpers/tmpdir.js';

const TITLE = 'tlsecho connect on a terminal (tmux)';

const lines = (text: string) => text.split('\n').map((line) => line.trimEnd());
const promptShown = (text: string) => lines(text).includes('>');

/** `tlsecho connect ARGS` on a 120x30 terminal, with exactly `env` (plus TERM) and no CI. */
async function connectOnTerminal(args: string[], env: Record<string, string> = {}): Promise<Terminal> {
  const cwd = await makeTempDir();
  const term = await startTerminal([process.execPath, BIN, 'connect', ...args], {
    cwd,
    env: { NO_COLOR: '1', HOME: cwd, ...env },
  });
  await term.waitForScreen(promptShown, 'the prompt');
  return term;
}

/** Resolves with the exit status, failing if the command is still running after `timeoutMs`. */
async function exitStatus(term: Terminal, timeoutMs: number): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  const { status } = await term.watchUntilExit(timeoutMs);
  return { status, ms: Date.now() - started };
}

needs('tmux').describe(TITLE, () => {
  describe('Ctrl-D ends the session', () => {
    test('a reply that arrives after Ctrl-D is printed, then the session ends with exit 0', async () => {
      const pki = await makeTestPki();
      const dir = await makeTempDir();
      // Answers each line a second late: the answer to `x` comes after Ctrl-D.
      const slow = join(dir, 'slow.sh');
      await writeFile(slow, '#!/bin/sh\nwhile read l; do sleep 1; echo "late: $l"; done\n');
      await chmod(slow, 0o755);
      const server = await startServeWithPki(pki, ['--handler', `exec:${slow}`]);
      const term = await connectOnTerminal([`127.0.0.1:${server.port}`, '--ca', pki.caFile, '--no-history']);

      await term.keys('x', 'Enter');
      await term.waitForScreen((text) => lines(text).includes('> x'), 'the sent line');
      await term.keys('C-d');
      // The late reply takes a second, the server's close a moment more: well under 10 s unless it hangs.
      const { status } = await exitStatus(term, 10_000);
      expect(status).toBe(0);
      const screen = lines(await term.screen());
      const late = screen.indexOf('late: x');
      expect(late).toBeGreaterThan(screen.indexOf('> x'));
      expect(screen[late + 1]).toMatch(/^connection to 127\.0\.0\.1:\d+ closed$/);
    }, 60_000);

    test('against a server that keeps streaming after Ctrl-D, the session still ends with exit 0', async () => {
      const pki = await makeTestPki();
      // Pushes a message every 50 ms and goes on after our close_notify (half-open), as a feed would.
      const sockets = new Set<TLSSocket>();
      const server = createServer(
        { cert: pki.server.certPem, key: pki.server.keyPem, allowHalfOpen: true },
        (socket) => {
          sockets.add(socket);
          socket.on('error', () => {});
          let n = 0;
          const timer = setInterval(() => socket.write(frame(4, `tick ${(n += 1)}`)), 50);
          socket.once('close', () => clearInterval(timer));
        },
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      onTestFinished(() => {
        for (const socket of sockets) socket.destroy();
        server.close();
      });
      const port = (server.address() as { port: number }).port;
      const term = await connectOnTerminal([`127.0.0.1:${port}`, '--ca', pki.caFile, '--no-history']);
      await term.waitForScreen((text) => text.includes('tick 3'), 'the streamed messages');

      await term.keys('C-d');
      // The client gives a peer that does not answer its close 2 s (CLOSE_GRACE_MS) before cutting it off.
      const { status } = await exitStatus(term, 10_000);
      expect(status).toBe(0);
      const screen = await term.screen();
      expect(screen).toMatch(/connection to 127\.0\.0\.1:\d+ closed\n/);
      // Once Ctrl-D is pressed the prompt is gone for good: no `>` is drawn again among later messages.
      expect(lines(screen).filter((line) => line.startsWith('>'))).toEqual([]);
    }, 60_000);
  });

  describe('history', () => {
    async function echoServer() {
      const pki = await makeTestPki();
      const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem });
      return { args: [`127.0.0.1:${server.port}`, '--ca', pki.caFile], server };
    }

    test('lines entered in one session come back with the Up arrow in the next; the file is 0600', async () => {
      const { args } = await echoServer();
      const state = await makeTempDir();
      const env = { XDG_STATE_HOME: state };

      const first = await connectOnTerminal(args, env);
      for (const line of ['first line', 'second line']) {
        await first.keys(line, 'Enter');
        await first.waitForScreen(
          (text) => lines(text).filter((shown) => shown.endsWith(line)).length === 2,
          `the echo of ${line}`,
        );
      }
      await first.keys('C-d');
      expect((await exitStatus(first, 10_000)).status).toBe(0);

      const file = join(state, 'tlsecho', 'history');
      expect(await readFile(file, 'utf8')).toBe('first line\nsecond line\n');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await stat(join(state, 'tlsecho'))).mode & 0o777).toBe(0o700);

      const second = await connectOnTerminal(args, env);
      await second.keys('Up');
      await second.waitForScreen((text) => lines(text).includes('> second line'), 'the last line recalled');
      await second.keys('Up');
      await second.waitForScreen((text) => lines(text).includes('> first line'), 'the line before it');
      await second.keys('Enter');
      await second.waitForScreen(
        (text) => lines(text).filter((shown) => shown.endsWith('first line')).length === 2,
        'the recalled line sent and echoed',
      );
      await second.keys('C-d');
      expect((await exitStatus(second, 10_000)).status).toBe(0);
      expect(await readFile(file, 'utf8')).toBe('first line\nsecond line\nfirst line\n');
    }, 60_000);

    test('without XDG_STATE_HOME the file is ~/.local/state/tlsecho/history', async () => {
      const { args } = await echoServer();
      const home = await makeTempDir();
      const term = await connectOnTerminal(args, { HOME: home });
      await term.keys('kept at home', 'Enter');
      await term.waitForScreen(
        (text) => lines(text).filter((shown) => shown.endsWith('kept at home')).length === 2,
        'the echo',
      );
      await term.keys('C-d');
      expect((await exitStatus(term, 10_000)).status).toBe(0);
      expect(await readFile(join(home, '.local/state/tlsecho/history'), 'utf8')).toBe('kept at home\n');
    }, 60_000);

    test('--no-history neither recalls nor saves', async () => {
      const { args } = await echoServer();
      const state = await makeTempDir();
      const file = join(state, 'tlsecho', 'history');
      await mkdir(join(state, 'tlsecho'));
      await writeFile(file, 'from before\n', { mode: 0o600 });

      const term = await connectOnTerminal([...args, '--no-history'], { XDG_STATE_HOME: state });
      await term.keys('Up');
      await term.keys('not kept', 'Enter');
      // Had Up recalled `from before`, the line sent would be `from beforenot kept`.
      await term.waitForScreen(
        (text) => lines(text).filter((shown) => shown.endsWith('not kept')).length === 2,
        'the echo',
      );
      expect(lines(await term.screen())).toContain('> not kept');
      await term.keys('C-d');
      expect((await exitStatus(term, 10_000)).status).toBe(0);
      expect(await readFile(file, 'utf8')).toBe('from before\n');
    }, 60_000);
  });

  describe('redrawing the line being typed', () => {
    // 98 characters, no two rows alike: one row at 120 columns, three at 40.
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const typed = Array.from({ length: 98 }, (_, i) => alphabet[i % alphabet.length]).join('');

    test('shrinking the terminal redraws a half-typed line once, not twice', async () => {
      const { args } = await (async () => {
        const pki = await makeTestPki();
        const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem });
        return { args: [`127.0.0.1:${server.port}`, '--ca', pki.caFile, '--no-history'] };
      })();
      const term = await connectOnTerminal(args);
      await term.keys(typed);
      await term.waitForScreen((text) => lines(text).includes(`> ${typed}`), 'the typed line');

      await term.resize(40);
      const wrapped = [`> ${typed.slice(0, 38)}`, typed.slice(38, 78), typed.slice(78)];
      const screen = await term.waitForScreen(
        (text) => lines(text).includes(wrapped[2]!) && lines(text).includes(wrapped[0]!),
        'the line wrapped at 40 columns',
      );
      const shown = lines(screen);
      expect(shown.filter((line) => line.startsWith('> '))).toEqual([wrapped[0]]);
      const start = shown.indexOf(wrapped[0]!);
      expect(shown.slice(start, start + 4)).toEqual([...wrapped, '']);

      // The line is still whole: Enter sends all of it.
      await term.keys('Enter');
      await term.waitForScreen(
        (text) => lines(text).filter((line) => line === typed.slice(0, 40)).length === 1,
        'the echo of the whole line',
      );
      await term.keys('C-d');
      expect((await exitStatus(term, 10_000)).status).toBe(0);
    }, 60_000);

    test('a reply that arrives while a wrapped line is half typed prints above it, and stays', async () => {
      const pki = await makeTestPki();
      const server = await startTestServer({ cert: pki.server.certPem, key: pki.server.keyPem });
      const term = await connectOnTerminal([`127.0.0.1:${server.port}`, '--ca', pki.caFile, '--no-history']);
      await term.resize(40);
      await term.waitForScreen((text) => lines(text).includes('>'), 'the prompt at 40 columns');
      await term.keys(typed);
      await term.waitForScreen((text) => lines(text).includes(typed.slice(78)), 'the typed line, wrapped');

      (await server.nextPeer()).reply('pushed while typing');
      const screen = await term.waitForScreen(
        (text) => lines(text).includes('pushed while typing'),
        'the pushed reply',
      );
      const shown = lines(screen);
      const reply = shown.indexOf('pushed while typing');
      expect(shown.slice(reply, reply + 4)).toEqual([
        'pushed while typing',
        `> ${typed.slice(0, 38)}`,
        typed.slice(38, 78),
        typed.slice(78),
      ]);
      expect(shown.filter((line) => line.startsWith('> '))).toHaveLength(1);
      await term.keys('C-c', 'C-d');
      expect((await exitStatus(term, 10_000)).status).toBe(0);
    }, 60_000);
  });
});
