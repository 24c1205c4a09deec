// `tlsecho serve --quiet` as a person runs it: a child process in a fresh folder (no certs/, so an ephemeral
// certificate), port 0. Quiet drops the line per connection, never what is needed to connect. Run
// `npm run build` first.
import type { ChildProcess } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { collect, runCli, spawnCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';

/** Starts `tlsecho serve ARGS` and resolves once stderr holds `ready`; returns what it printed so far. */
async function startQuietServe(args: string[], ready: RegExp) {
  const cwd = await makeTempDir();
  const child = spawnCli(['serve', '--port', '0', ...args], { cwd });
  const result = collect(child, { keepStdinOpen: true, killAfterMs: 30_000 });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`serve printed nothing to connect with:\n${stderr}`)),
      15_000,
    );
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (ready.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', () => reject(new Error(`serve exited early:\n${stderr}`)));
  });
  return { child, cwd, result, stderr: () => stderr };
}

/** The shell words of a printed `tlsecho …` command (these have no quoting to undo). */
const words = (command: string) => command.trim().split(/\s+/);

async function stopped(child: ChildProcess, result: ReturnType<typeof collect>) {
  child.kill('SIGTERM');
  return result;
}

describe('tlsecho serve --quiet', () => {
  test('prints the fingerprint, the connect command and the address; the command works; no line per connection', async () => {
    const server = await startQuietServe(['-q'], /listening on .*\n/);
    const lines = server.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const pin = /\((sha256:[0-9a-f]{64})\)$/.exec(lines[0]!)?.[1];
    expect(pin).toBeDefined();
    expect(lines[0]).toMatch(/^no certificate given and none in certs\/: using an ephemeral self-signed one/);
    const port = /^listening on 127\.0\.0\.1:(\d+) \(packet 4, echo\)$/.exec(lines[2]!)?.[1];
    expect(Number(port)).toBeGreaterThan(0);
    expect(lines[1]).toBe(`verify it with: tlsecho connect --pin ${pin} 127.0.0.1:${port}`);

    // The printed command, run as printed (the `tlsecho` in it is this build).
    const [program, ...args] = words(lines[1]!.replace(/^verify it with: /, ''));
    expect(program).toBe('tlsecho');
    const client = await runCli(args, { input: 'hello quietly\n' });
    expect(client).toMatchObject({ code: 0, stdout: 'hello quietly\n', stderr: '' });

    const result = await stopped(server.child, server.result);
    expect(result.code).toBe(0);
    // Nothing about the connection, the shutdown or the stop: only the three lines from the start.
    expect(result.stderr).toBe(`${lines.join('\n')}\n`);
  });

  test('--quiet --json keeps the certificate, connect-command and listening events', async () => {
    const server = await startQuietServe(['--quiet', '--json'], /"event":"listening".*\n/);
    const events = server
      .stderr()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; port?: number; command?: string });
    expect(events.map((line) => line.event)).toEqual(['certificate', 'connect-command', 'listening']);
    expect(events[1]!.command).toMatch(
      new RegExp(`^tlsecho connect --pin sha256:[0-9a-f]{64} 127\\.0\\.0\\.1:${events[2]!.port}$`),
    );
    await stopped(server.child, server.result);
  });

  test('--quiet --workers 1: the primary prints the three lines once, the worker none', async () => {
    const server = await startQuietServe(['-q', '--workers', '1'], /listening on .*\n/);
    // The worker would log its own lines just before the primary's listening line.
    const lines = server.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^no certificate given and none in certs\/: every worker uses one ephemeral/);
    expect(lines[1]).toMatch(/^verify it with: tlsecho connect --pin sha256:[0-9a-f]{64} 127\.0\.0\.1:\d+$/);
    expect(lines[2]).toMatch(/^listening on 127\.0\.0\.1:\d+ with 1 worker \(packet 4, echo\)$/);
    const result = await stopped(server.child, server.result);
    expect(result.stderr).toBe(`${lines.join('\n')}\n`);
  }, 30_000);
});
