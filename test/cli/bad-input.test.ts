import { describe, expect, test } from 'vitest';
import { runCli, type CliResult } from '../helpers/run-cli.js';

// Mistaken input on the command line: each case must end in one `tlsecho:` line (plus an optional hint),
// the documented exit code, and nothing on stdout; never a crash, a stack trace or an "internal error".
// No case here reaches a server: every one is refused before a connection is made.

function expectUsageError(r: CliResult, message: RegExp): void {
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^tlsecho: [^\n]+\n(hint: [^\n]+\n)?$/);
  expect(r.stderr.split('\n')[0]).toMatch(message);
  expect(r.code).toBe(2);
}

describe('--alpn', () => {
  test.each([
    ['send', ['send', '127.0.0.1:1', '--insecure', '--alpn', '', 'hi']],
    ['connect', ['connect', '127.0.0.1:1', '--insecure', '--alpn', '']],
    ['bench', ['bench', '127.0.0.1:1', '--insecure', '--alpn', '', '-n', '1']],
    ['serve', ['serve', '--port', '0', '--alpn', '']],
  ])('%s refuses an empty protocol name instead of aborting the process', async (_name, args) => {
    const r = await runCli(args, { input: '', killAfterMs: 10_000 });
    expectUsageError(r, /^tlsecho: invalid --alpn '': a protocol name is 1 to 255 bytes/);
  });

  test('a protocol name over 255 bytes is refused, shown shortened', async () => {
    const r = await runCli(['send', '127.0.0.1:1', '--insecure', '--alpn', 'x'.repeat(256), 'hi']);
    expectUsageError(r, /^tlsecho: invalid --alpn 'x{40}…': a protocol name is 1 to 255 bytes/);
  });
});
