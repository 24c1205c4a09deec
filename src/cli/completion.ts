import type { Argv } from 'yargs';

// Shell completion is yargs' own (`tlsecho completion` prints its bash or zsh script, which calls
// `tlsecho --get-yargs-completions WORDS...`); this corrects two things in the words it offers.

type CompleteByDefault = (onCompleted: (error: Error | null, completions?: string[]) => void) => void;

/** The `.completion()` callback: yargs' default completions, corrected. */
export function completeWords(parser: () => Argv) {
  return (
    current: string,
    _argv: unknown,
    completeByDefault: CompleteByDefault,
    done: (completions: string[]) => void,
  ): void =>
    completeByDefault((_error, completions = []) => {
      // yargs writes one-letter aliases as `--k` once the word typed starts with `--`.
      const words = completions.filter((word) => !/^--[^-](?::|$)/.test(word));
      // yargs leaves out options already on the line, and counts the word being completed among them, so
      // `--key<Tab>` would become --key-passphrase-file. A whole option name is offered as itself.
      const offered = (word: string) => word === current || word.startsWith(`${current}:`);
      if (isOptionName(parser(), current) && !words.some(offered)) words.unshift(current);
      done(words);
    });
}

// The options of the command being completed: yargs resets the parser to that command before asking.
// `getOptions` is a public method of the parser that @types/yargs does not declare.
function isOptionName(parser: Argv, word: string): boolean {
  const name = /^--([^-].*)$/.exec(word)?.[1];
  if (name === undefined) return false;
  const options = (parser as unknown as { getOptions?(): { key: Record<string, unknown> } }).getOptions?.();
  return options !== undefined && Object.hasOwn(options.key, name);
}

/** `tlsecho completion --help`: yargs' completion command has no help of its own and would print the script. */
export const COMPLETION_HELP = `tlsecho completion

print a bash/zsh completion script on stdout: the bash script, or the zsh script when $SHELL names zsh

It completes commands, options, and the values of options that have a fixed set (such as --output).

Install it for bash (with bash-completion, it loads on first use):
  mkdir -p ~/.local/share/bash-completion/completions
  tlsecho completion > ~/.local/share/bash-completion/completions/tlsecho
or, without bash-completion: tlsecho completion >> ~/.bashrc

For zsh, save it and source it from ~/.zshrc after compinit:
  SHELL=zsh tlsecho completion > ~/.tlsecho-completion.zsh
  source ~/.tlsecho-completion.zsh
`;
