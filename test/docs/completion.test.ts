import { execFile as execFileCallback } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { main } from '../../src/cli/main.js';
import { createMemoryIo } from '../helpers/memory-io.js';
import { BIN } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { collectReference } from '../../scripts/docs/cli-reference.js';
import { helpOptions, helpText } from './helpers/documented.js';
import { findTool, needs } from '../helpers/system-tools.js';
import { startTerminal } from './helpers/terminal.js';

const execFile = promisify(execFileCallback);
const reference = collectReference();

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
async function bashCompletions(line: string, options: { cwd?: string } = {}): Promise<string[]> {
  return (await bashCompletion(line, options)).words;
}

/** bash's offer for `line`, and whatever the completion function wrote to the terminal (stderr). */
async function bashCompletion(
  line: string,
  options: { cwd?: string } = {},
): Promise<{ words: string[]; stderr: string }> {
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
  const { stdout, stderr } = await execFile('bash', ['--norc', '--noprofile', '-c', script], {
    env: { PATH: path, HOME: home },
    cwd: options.cwd ?? home,
  });
  return { words: stdout.split('\n').filter(Boolean).sort(), stderr };
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

  // Before: `serve --packet <Tab>` ran the flag's validation on '' and bash showed
  // "tlsecho: invalid packet mode ''… hint: see 'tlsecho tlsecho --help'" in the command line.
  test.each([
    ['tlsecho serve --packet ', ['1', '2', '4', 'line']],
    ['tlsecho send localhost:7000 --packet l', ['line']],
    ['tlsecho connect --min-tls ', ['1.2', '1.3']],
    ['tlsecho gencert --key-type ', ['ec-p256', 'ec-p384', 'ed25519', 'rsa-2048', 'rsa-3072', 'rsa-4096']],
    ['tlsecho gencert --key-type rsa', ['rsa-2048', 'rsa-3072', 'rsa-4096']],
    ['tlsecho serve --exec-framing ', ['line', 'raw']],
    ['tlsecho serve --packet=', ['1', '2', '4', 'line']],
    ['tlsecho send h:1 --max-tls ', ['1.2', '1.3']],
    ['tlsecho send h:1 --ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CH', ['ECDHE-RSA-CHACHA20-POLY1305']],
  ])('%s<Tab> offers the values and writes nothing else', async (line, values) => {
    const { words, stderr } = await bashCompletion(line);
    expect(words).toEqual(values);
    expect(stderr).toBe('');
  });

  test('every option with a fixed set of values offers exactly that set', async () => {
    const lines = reference.commands.flatMap((command) =>
      command.options
        .filter((option) => option.choices !== undefined)
        .map((option) => ({ line: `tlsecho ${command.name} --${option.name} `, choices: option.choices! })),
    );
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const { line, choices } of lines)
      expect(await bashCompletions(line), line).toEqual([...choices].sort());
  });

  // Before: `serve --handler <Tab>` was offered the option names, and bash filled in their common `-`.
  test('tlsecho serve --handler <Tab> offers broadcast, echo, etf-echo, exec: and the files here, never an option', async () => {
    const dir = await makeTempDir('tlsecho-completion-cwd-');
    await writeFile(join(dir, 'upper.js'), 'export default (m) => m;\n');
    await mkdir(join(dir, 'handlers'));
    expect(await bashCompletions('tlsecho serve --handler ', { cwd: dir })).toEqual([
      'broadcast',
      'echo',
      'etf-echo',
      'exec:',
      'handlers',
      'upper.js',
    ]);
    expect(await bashCompletions('tlsecho serve --handler ex', { cwd: dir })).toEqual(['exec:']);
    expect(await bashCompletions('tlsecho serve --handler ./u', { cwd: dir })).toEqual(['./upper.js']);
  });

  test('a flag that names a file completes file names; tlsecho offers nothing for one that takes free text', async () => {
    const dir = await makeTempDir('tlsecho-completion-cwd-');
    await writeFile(join(dir, 'ca.crt'), '');
    await mkdir(join(dir, 'certs'));
    expect(await bashCompletions('tlsecho send h:1 --ca c', { cwd: dir })).toEqual(['ca.crt', 'certs']);
    expect(await bashCompletions('tlsecho gencert --out ', { cwd: dir })).toEqual(['certs']);
    expect(await bashCompletions('tlsecho send h:1 --expect ', { cwd: dir })).toEqual([]);
    expect(await bashCompletions('tlsecho serve --port ', { cwd: dir })).toEqual([]);
  });

  test('no value of any option, half typed, makes tlsecho write to the terminal or offer an option', async () => {
    // In-process (a child per line would take minutes): the request exactly as the bash script sends it.
    let asked = 0;
    for (const command of reference.commands) {
      for (const option of command.options.filter((candidate) => candidate.type !== 'boolean')) {
        for (const value of ['', 'x', '-', '=']) {
          const io = createMemoryIo({ env: { _TLSECHO_COMPLETE: 'bash' } });
          const line = `tlsecho ${command.name} --${option.name} ${value}`;
          expect(await main(['--get-yargs-completions', line], io), line).toBe(0);
          expect(io.errors(), line).toBe('');
          expect(io.output(), line).not.toMatch(/^(tlsecho:|hint:|--?[a-z])/m);
          asked++;
        }
      }
    }
    expect(asked).toBeGreaterThan(100);
  });
});

// zsh's completion system only runs inside its line editor, so a real interactive zsh in a tmux pane gets
// the script the way the README installs it (saved to a file, sourced after compinit) and real keys.
needs('zsh', 'tmux').describe('zsh completion', () => {
  const zsh = findTool('zsh')!;
  /** An interactive zsh with the script installed; `shell` is $SHELL inside it (a bash user trying zsh). */
  async function zshWithCompletion(options: { shell?: string; files?: string[] } = {}) {
    const { home, path } = await pathWithTlsecho();
    const { stdout: script } = await execFile('tlsecho', ['completion'], {
      env: { PATH: path, HOME: home, SHELL: zsh },
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
    for (const file of options.files ?? []) await writeFile(join(home, file), '');
    const terminal = await startTerminal([zsh, '-i'], {
      cwd: home,
      env: { HOME: home, ZDOTDIR: home, PATH: path, SHELL: options.shell ?? zsh },
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

  // Before: the line became `> tlsecho serve --packet tlsecho: invalid packet mode ''…`.
  test('tlsecho serve --packet <Tab> lists the packet modes with what each means, the line untouched', async () => {
    const terminal = await zshWithCompletion();
    await terminal.keys('tlsecho serve --packet ', 'Tab');
    const screen = await terminal.waitForScreen(
      (text) => /^1 +-- 1-byte length header/m.test(text) && /^line +-- newline-delimited/m.test(text),
      'the packet modes listed',
    );
    expect(firstLine(screen)).toBe('> tlsecho serve --packet');
    expect(screen).not.toMatch(/tlsecho:|hint:/);
  });

  test('tlsecho serve --handler <Tab> lists echo, etf-echo, exec: and the files, even when $SHELL is bash', async () => {
    const terminal = await zshWithCompletion({ shell: '/bin/bash', files: ['upper.js'] });
    await terminal.keys('tlsecho serve --handler ', 'Tab');
    const screen = await terminal.waitForScreen(
      (text) =>
        /^echo +-- reply with each message/m.test(text) &&
        /^etf-echo +-- decode an Erlang term/m.test(text) &&
        /^exec: +-- run COMMAND/m.test(text) &&
        /upper\.js/.test(text),
      'the handlers, with descriptions, and upper.js',
    );
    expect(firstLine(screen)).toBe('> tlsecho serve --handler');
  });

  test('tlsecho serve --handler ex<Tab> completes to exec: with no space after it', async () => {
    const terminal = await zshWithCompletion();
    await terminal.keys('tlsecho serve --handler ex', 'Tab');
    await terminal.waitForScreen((text) => firstLine(text) === '> tlsecho serve --handler exec:', 'exec:');
    await terminal.keys('cat');
    await terminal.waitForScreen(
      (text) => firstLine(text) === '> tlsecho serve --handler exec:cat',
      'exec:cat',
    );
  });
});
