// gencert ends with "Next:" and the commands to run. These tests copy those lines and run them as a person
// pasting them would: in a shell, in the same folder, with `tlsecho` on the PATH. The one change made is
// the port: serve runs with TLSECHO_PORT=0 (the environment form of --port 0, so the serve line itself is
// untouched), and the connect line's :7000 becomes the port serve announced. Run `npm run build` first.
import { execFile as execFileCallback, spawn } from 'node:child_process';
import { access, mkdir, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, onTestFinished, test } from 'vitest';
import { BIN } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';

const execFile = promisify(execFileCallback);

/** A folder to work in, and a shell environment whose PATH has this build as `tlsecho`. */
async function workspace() {
  const cwd = await makeTempDir('tlsecho-next-');
  await mkdir(join(cwd, '.bin'));
  await symlink(BIN, join(cwd, '.bin', 'tlsecho'));
  const env = {
    PATH: [join(cwd, '.bin'), dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
    HOME: cwd,
    CI: 'true',
    NO_COLOR: '1',
  };
  /** Runs one line in sh; resolves with its output, rejects with it when the exit status is not 0. */
  const sh = async (line: string, input?: string) => {
    const child = execFile('sh', ['-c', line], { cwd, env, timeout: 20_000 });
    if (input !== undefined) child.child.stdin!.end(input);
    try {
      return await child;
    } catch (error) {
      const { stderr, code } = error as { stderr: string; code: number };
      throw new Error(`\`${line}\` failed (exit ${code}):\n${stderr}`);
    }
  };
  return { cwd, env, sh };
}

/** The command lines under "Next:" in gencert's summary. */
function nextLines(summary: string): string[] {
  const after = summary.split('\nNext:\n')[1];
  if (after === undefined) throw new Error(`no Next: in\n${summary}`);
  return after
    .split('\n')
    .filter((line) => line.startsWith('  '))
    .map((line) => line.trim());
}

/** Starts a printed `tlsecho serve …` line in sh; resolves with the port it announced. */
async function startPrinted(line: string, work: Awaited<ReturnType<typeof workspace>>): Promise<number> {
  expect(line).toMatch(/^tlsecho serve /);
  // exec: the signal at the end reaches serve itself, not the shell.
  const child = spawn('sh', ['-c', `exec ${line}`], {
    cwd: work.cwd,
    env: { ...work.env, TLSECHO_PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`\`${line}\` did not start:\n${stderr}`)), 15_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const port = /listening on \S+:(\d+) /.exec(stderr)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve(Number(port));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`\`${line}\` exited with ${code}:\n${stderr}`));
    });
  });
}

/** Runs the printed serve line, then the printed connect line against it: a message goes there and back. */
async function serveAndConnect(lines: string[], work: Awaited<ReturnType<typeof workspace>>) {
  const [serveLine, connectLine] = lines;
  expect(lines).toHaveLength(2);
  const port = await startPrinted(serveLine!, work);
  expect(connectLine).toMatch(/^tlsecho connect .*:7000\b/);
  const { stdout, stderr } = await work.sh(
    connectLine!.replace(/:7000\b/, `:${port}`),
    'from the Next lines\n',
  );
  expect({ stdout, stderr }).toEqual({ stdout: 'from the Next lines\n', stderr: '' });
}

describe("gencert's Next: lines run as printed", () => {
  test('a CA, then the server and client certificates its Next lines make, then mutual TLS', async () => {
    const work = await workspace();
    const ca = await work.sh('tlsecho gencert --ca');
    // Every line runs, comments and all: one makes the server certificate, one the client's.
    const made: string[] = [];
    for (const line of nextLines(ca.stderr)) made.push((await work.sh(line)).stderr);
    expect(made).toHaveLength(2);
    const [server = '', client = ''] = made;
    await access(join(work.cwd, 'certs', 'server.crt'));
    await access(join(work.cwd, 'certs', 'client.crt'));

    await serveAndConnect(nextLines(server), work);
    await serveAndConnect(nextLines(client), work);
  }, 90_000);

  test('a server certificate for a name that does not resolve (api.test) is reached by address', async () => {
    const work = await workspace();
    await work.sh('tlsecho gencert --ca');
    const server = await work.sh('tlsecho gencert --issuer certs --host api.test --out api');
    const steps = nextLines(server.stderr);
    await serveAndConnect(steps, work);
    expect(steps[1]).toBe('tlsecho connect --ca certs/ca.crt 127.0.0.1:7000 --servername api.test');
  }, 60_000);

  test('a self-signed certificate for api.test: the pinned connect line works too', async () => {
    const work = await workspace();
    const made = await work.sh('tlsecho gencert --host api.test');
    await serveAndConnect(nextLines(made.stderr), work);
  }, 60_000);
});
