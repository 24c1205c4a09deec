// Lexical rules of Erlang shared by the parser and the formatter, from erl_scan and io_lib.

/** Words erl_scan reserves; an atom spelled like one must be quoted. `maybe`/`else` are reserved from OTP 27. */
const RESERVED_WORDS: ReadonlySet<string> = new Set(
  (
    'after and andalso band begin bnot bor bsl bsr bxor case catch cond div else end fun if let maybe not of ' +
    'or orelse receive rem try when xor'
  ).split(' '),
);

/** A character that may start an unquoted atom: a-z or a Latin-1 lowercase letter (ß..ÿ but ÷). */
export function isAtomStart(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0xdf && code <= 0xff && code !== 0xf7);
}

/** A character that may continue an unquoted atom (or a variable): letters, digits, `_` and `@`. */
export function isNameChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x5f ||
    code === 0x40 ||
    (code >= 0xc0 && code <= 0xff && code !== 0xd7 && code !== 0xf7)
  );
}

/**
 * A code point Erlang prints as itself in a string: `io_lib:printable_unicode_list/1`'s rule, which is
 * what `~tp` uses to decide whether a list or binary is shown as text.
 */
export function isPrintable(code: number): boolean {
  return (
    (code >= 0x20 && code <= 0x7e) ||
    (code >= 0xa0 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff) ||
    (code >= 0x08 && code <= 0x0d) || // \b \t \n \v \f \r
    code === 0x1b // \e
  );
}

const NAMED_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x08, '\\b'],
  [0x09, '\\t'],
  [0x0a, '\\n'],
  [0x0b, '\\v'],
  [0x0c, '\\f'],
  [0x0d, '\\r'],
  [0x1b, '\\e'],
  [0x7f, '\\d'],
  [0x5c, '\\\\'],
]);

/** Writes code points between `quote`s the way io_lib does: named escapes, octal for other controls. */
export function quoteText(codes: Iterable<number>, quote: '"' | "'"): string {
  let out = quote;
  const quoteCode = quote.charCodeAt(0);
  for (const code of codes) {
    const named = NAMED_ESCAPES.get(code);
    if (named !== undefined) out += named;
    else if (code === quoteCode) out += `\\${quote}`;
    else if (code < 0x20 || (code >= 0x80 && code < 0xa0)) out += `\\${code.toString(8).padStart(3, '0')}`;
    else out += String.fromCodePoint(code);
  }
  return out + quote;
}

/** An atom as Erlang writes it: bare when erl_scan would read it back as the same atom, quoted otherwise. */
export function formatAtom(name: string): string {
  const codes = Array.from(name, (c) => c.codePointAt(0) ?? 0);
  const bare =
    codes.length > 0 &&
    isAtomStart(codes[0] as number) &&
    codes.every(isNameChar) &&
    !RESERVED_WORDS.has(name);
  return bare ? name : quoteText(codes, "'");
}

/** Code points to a string, in slices: spreading a million arguments into fromCodePoint overflows the stack. */
export function codePointsToString(codes: readonly number[]): string {
  const SLICE = 8192;
  let out = '';
  for (let i = 0; i < codes.length; i += SLICE) out += String.fromCodePoint(...codes.slice(i, i + SLICE));
  return out;
}
