import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { makeTestPki } from '../../client/helpers/pki.js';
import { startServeWithPki } from '../../client/helpers/serve-child.js';
import { spawnCli } from '../../helpers/run-cli.js';
import { needs } from '../../helpers/system-tools.js';
import { makeTempDir } from '../../helpers/tmpdir.js';

// The buffering trap, as a user meets it: `exec:python3 upper.py` without -u answers on a terminal but holds
// its output on a pipe, so clients time out. The server's log says so, once, and names the fixes.

const WARNING =
  /has been sent \d+ messages? and has written nothing for \d+s; if it buffers its output on a pipe, make it line-buffered \(python3 -u, stdbuf -oL COMMAND, or flush after each line\)$/m;

async function waitFor(read: () => string, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = read();
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`never saw ${pattern} in:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

needs('python3').test(
  'an exec: child that sits on its messages makes the server log one warning suggesting python3 -u',
  async () => {
    const dir = await makeTempDir('tlsecho-exec-buffering-');
    const script = join(dir, 'upper.py');
    await writeFile(script, 'import sys\nfor line in sys.stdin:\n    print(line.strip().upper())\n');
    const pki = await makeTestPki();
    const server = await startServeWithPki(pki, [
      '--handler',
      // As python runs for most people: PYTHONUNBUFFERED (set on some machines and CI images) would hide the trap.
      `exec:env -u PYTHONUNBUFFERED python3 ${script}`,
    ]);
    const target = `127.0.0.1:${server.port}`;
    // Two sessions at once, as a person would hold them open, each waiting for a reply that stays in
    // python's buffer (it would come out only when stdin closes and python exits).
    const clients = [1, 2].map(() => {
      const child = spawnCli(['connect', target, '--ca', pki.caFile]);
      let stdout = '';
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stdin!.write('hello\n');
      return { child, stdout: () => stdout };
    });
    const log = await waitFor(server.log, WARNING, 5000);
    const warnings = log.split('\n').filter((line) => WARNING.test(line));
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^tlsecho: warning: \\[#\\d\\] exec:env -u PYTHONUNBUFFERED python3 ${script.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} has been sent 1 message`,
        ),
      ),
    ]);
    // Nothing came back meanwhile: the trap the warning is about.
    for (const client of clients) expect(client.stdout()).toBe('');
  },
  30_000,
);
