// Just enough of the shell's word splitting to find the `tlsecho` commands in a line of an example:
// quotes and backslashes, pipes and lists, redirections, comments, `VAR=value` prefixes and `npx`.

interface Token {
  text: string;
  operator: boolean;
}

const OPERATORS = ['2>&1', '&&', '||', '>>', '2>', '|', '&', ';', '<', '>', '(', ')'];
const SEPARATORS = new Set(['&&', '||', '|', '&', ';', '(', ')']);
const REDIRECTIONS = new Set(['2>', '>>', '<', '>']);
const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'while', 'until', 'do', '!', 'time', 'exec']);

function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let word: string | undefined;
  const end = () => {
    if (word !== undefined) tokens.push({ text: word, operator: false });
    word = undefined;
  };
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === "'") {
      const close = line.indexOf("'", i + 1);
      if (close === -1) throw new Error(`unterminated ' in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, close);
      i = close;
    } else if (char === '"') {
      let text = '';
      for (i++; i < line.length && line[i] !== '"'; i++) {
        text += line[i] === '\\' && /["\\$`]/.test(line[i + 1] ?? '') ? line[++i] : line[i];
      }
      if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
      word = (word ?? '') + text;
    } else if (char === '\\') {
      word = (word ?? '') + (line[++i] ?? '');
    } else if (/\s/.test(char)) {
      end();
    } else if (char === '#' && word === undefined) {
      break;
    } else {
      const operator = OPERATORS.find(
        (candidate) => line.startsWith(candidate, i) && (candidate[0] !== '2' || word === undefined),
      );
      if (operator) {
        end();
        tokens.push({ text: operator, operator: true });
        i += operator.length - 1;
      } else {
        word = (word ?? '') + char;
      }
    }
  }
  end();
  return tokens;
}

/** The arguments of every `tlsecho` command in `line` (a whole logical line, continuations joined). */
export function tlsechoCommands(line: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  const finish = () => {
    let start = 0;
    while (
      start < words.length &&
      (KEYWORDS.has(words[start]!) || /^[A-Z_][A-Z0-9_]*=/.test(words[start]!))
    ) {
      start++;
    }
    if (words[start] === 'npx') start++;
    if (words[start] === 'tlsecho') commands.push(words.slice(start + 1));
    words = [];
  };
  const tokens = tokenize(line);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!token.operator) words.push(token.text);
    else if (SEPARATORS.has(token.text)) finish();
    else if (REDIRECTIONS.has(token.text)) i++; // and its target
  }
  finish();
  return commands;
}

/** Lines of shell with `\` continuations joined. */
export function logicalLines(text: string): string[] {
  return text.replace(/\\\n/g, ' ').split('\n');
}
