import { execFile as execFileCallback } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { BIN } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { helpOptions, helpText } from './helpers/documented.js';
import { hasTmux, startTerminal } from './helpers/terminal.js';

const execFile = promisify(execFileCallback);

// `tlsecho completion` as a user installs it: the script goes into a real shell with `tlsecho` on the PATH,
// and the shell's own completion machinery asks it for words.

/** A folder with `tlsecho` (this checkout) on a PATH that also holds node. */
async function pathWithTlsecho(): Promise<{ home: string; path: string }> {
  const home = await makeTempDir('tlsecho-completion-');
  await mkdir(join(home, 'bin'));
  await symlink(BIN, join(home, 'bin', 'tlsecho'));
  return { home, path: [join(home, 'bin'), dirname(process.execPath), '/usr/bin', '/bin'].join(':') };
}

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/** What bash offers for `line` (the cursor at its end), through the function `complete -p` names. */
async function bashCompletions(line: string): Promise<string[]> {
  const { home, path } = await pathWithTlsecho();
  const words = line.split(' ');
  const script = [
    'source <(tlsecho completion)',
    // Call whatever function the script registered for tlsecho, as bash would on Tab.
    `function=$(complete -p tlsecho | sed -n 's/.* -F \\([^ ]*\\) .*/\\1/p')`,
    `COMP_WORDS=(${words.map(quote).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    `COMP_LINE=${quote(line)}`,
    `COMP_POINT=${line.length}`,
    '"$function" tlsecho',
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join('\n');
  const { stdout } = await execFile('bash', ['--norc', '--noprofile', '-c', script], {
    env: { PATH: path, HOME: home },
  });
  return stdout.split('\n').filter(Boolean).sort();
}

describe('bash completion', () => {
  test('tlsecho completion prints a bash script that registers a completion function for tlsecho', async () => {
    const { home, path } = await pathWithTlsecho();
    const { stdout } = await execFile(
      'bash',
      ['--norc', '--noprofile', '-c', 'source <(tlsecho completion) && complete -p tlsecho'],
      { env: { PATH: path, HOME: home } },
    );
    expect(stdout).toMatch(/^complete .*-F _tlsecho_yargs_completions tlsecho$/m);
  });

  test('tlsecho se<Tab> offers send and serve', async () => {
    expect(await bashCompletions('tlsecho se')).toEqual(['send', 'serve']);
  });

  test('tlsecho send --exp<Tab> offers --expect and --expect-echo', async () => {
    expect(await bashCompletions('tlsecho send --exp')).toEqual(['--expect', '--expect-echo']);
  });

  test('tlsecho connect --key<Tab> keeps --key on offer beside --key-passphrase-file', async () => {
    expect(await bashCompletions('tlsecho connect --key')).toEqual(['--key', '--key-passphrase-file']);
  });

  test('tlsecho send --output <Tab> offers the output modes', async () => {
    expect(await bashCompletions('tlsecho send --output ')).toEqual(['base64', 'hex', 'json', 'raw', 'text']);
  });

  test('tlsecho send --<Tab> offers exactly the long options send --help lists', async () => {
    const listed = [...helpOptions(await helpText(['send']))].map((name) => `--${name}`).sort();
    // No one-letter alias written long (`--k`): yargs would offer those, main filters them out.
    expect(await bashCompletions('tlsecho send --')).toEqual(listed);
  });
});

const zsh = ['/usr/bin/zsh', '/bin/zsh'].find((path) => existsSync(path));

// zsh's completion system only runs inside its line editor, so a real interactive zsh in a tmux pane gets
// the script the way the README installs it (saved to a file, sourced after compinit) and real keys.
describe.skipIf(!zsh || !hasTmux)('zsh completion', () => {
  async function zshWithCompletion() {
    const { home, path } = await pathWithTlsecho();
    const { stdout: script } = await execFile('tlsecho', ['completion'], {
      env: { PATH: path, HOME: home, SHELL: zsh! },
    });
    expect(script.split('\n')[0]).toBe('#compdef tlsecho');
    await writeFile(join(home, '.tlsecho-completion.zsh'), script);
    await writeFile(
      join(home, '.zshrc'),
      [
        `autoload -Uz compinit && compinit -u -d ${quote(join(home, '.zcompdump'))}`,
        `source ${quote(join(home, '.tlsecho-completion.zsh'))}`,
        "PROMPT='> '",
      ].join('\n'),
    );
    const terminal = await startTerminal([zsh!, '-i'], {
      cwd: home,
      env: { HOME: home, ZDOTDIR: home, PATH: path, SHELL: zsh! },
    });
    await terminal.waitForScreen((text) => text.startsWith('>'), 'the prompt');
    return terminal;
  }

  const firstLine = (text: string) => text.split('\n')[0]!.trimEnd();

  test('tlsecho se<Tab> lists send and serve with their descriptions', async () => {
    const terminal = await zshWithCompletion();
    await terminal.keys('tlsecho se', 'Tab');
    const screen = await terminal.waitForScreen(
      (text) => /^send +-- send messages/m.test(text) && /^serve +-- run a TLS server/m.test(text),
      'send and serve listed',
    );
    expect(firstLine(screen)).toBe('> tlsecho se');
  });

  test('tlsecho send --exp<Tab> fills in --expect, then Ctrl-D lists --expect and --expect-echo', async () => {
    const terminal = await zshWithCompletion();
    await terminal.keys('tlsecho send --exp', 'Tab');
    await terminal.waitForScreen(
      (text) => firstLine(text) === '> tlsecho send --expect',
      'the common prefix --expect filled in',
    );
    // A second request in the same shell: the one an $fpath install would have lost.
    await terminal.keys('C-d');
    await terminal.waitForScreen(
      // yargs leaves the word being completed out; tlsecho adds it back, without a description.
      (text) => /^--expect(?: +-- fail.*)?$/m.test(text) && /^--expect-echo +-- fail/m.test(text),
      '--expect and --expect-echo listed',
    );
  });
});
