// Text into roff for man(7). Every generated string passes through here, so a description holding a
// backslash, a leading dot or a non-ASCII character cannot break the page or make groff warn.

/** Escapes running text: `\` and `-` (a minus, so options copy as typed), and non-ASCII as `\[uXXXX]`. */
export function roffText(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '\\') out += '\\e';
    else if (char === '-') out += '\\-';
    else if (code > 0x7e) out += `\\[u${code.toString(16).toUpperCase().padStart(4, '0')}]`;
    else out += char;
  }
  return out;
}

/** Lines of running text; `\&` keeps a leading `.` or `'` from being read as a request. */
export function roffLine(text: string): string {
  return roffText(text)
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

export const bold = (text: string): string => `\\fB${roffText(text)}\\fR`;
export const italic = (text: string): string => `\\fI${roffText(text)}\\fR`;

/** A quoted macro argument (`.SH "TLSECHO SEND"`). */
export function roffArgument(text: string): string {
  return `"${roffText(text).replace(/"/g, '""')}"`;
}

/** Lines shown as typed, unfilled and indented: commands and output in EXAMPLES. */
export function roffDisplay(lines: string[]): string[] {
  return ['.RS 4', '.nf', ...lines.map((line) => (line === '' ? '' : roffLine(line))), '.fi', '.RE'];
}
