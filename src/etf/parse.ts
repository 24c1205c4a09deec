import { UsageError } from '../errors.js';
import { encodeTerm } from './encode.js';
import { DEFAULT_ETF_LIMITS } from './limits.js';
import { codePointsToString, isAtomStart, isNameChar } from './syntax.js';
import { MAX_ATOM_CHARACTERS } from './tags.js';
import { integer, type Term } from './term.js';

export interface ParseOptions {
  /** Deepest nesting accepted; deeper text is a UsageError rather than a stack overflow. */
  maxDepth?: number;
}

// 16 Mibit: far above any binary typed by hand, low enough that <<0:99999999999>> cannot exhaust memory.
const MAX_SEGMENT_BITS = 2 ** 24;

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  b: 0x08,
  d: 0x7f,
  e: 0x1b,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  s: 0x20,
  t: 0x09,
  v: 0x0b,
};

/**
 * Reads one Erlang term written in Erlang syntax: `{hello, <<"world">>, 42, [1.5, atom, "str"], #{key => value}}`.
 *
 * Accepts integers (`-42`, `1_000`, `16#ff`, `$a`, any size), floats (`1.5`, `-2.0e-3`), atoms (`ok`,
 * `'Hello world'`), strings with Erlang escapes (`"a\n\x{3b1}"`, adjacent strings are joined), binaries
 * (`<<1,2,3>>`, `<<"text">>`, `<<"text"/utf8>>`, `<<5:3>>`), lists (`[a | b]` too), tuples and maps, with
 * `%` comments and an optional final `.`. As in Erlang, `<<"é">>` is the Latin-1 byte 233 (add `/utf8` for
 * UTF-8), `"é"` is the list `[233]`, and a repeated map key keeps its last value. Pids, references, ports and
 * funs have no literal syntax and are refused.
 *
 * Throws a one-line `UsageError` naming the line and column of the first mistake.
 */
export function parseTerm(text: string, options: ParseOptions = {}): Term {
  return new TermParser(text, options.maxDepth ?? DEFAULT_ETF_LIMITS.maxDepth).parseWhole();
}

class TermParser {
  #pos = 0;

  constructor(
    readonly text: string,
    readonly maxDepth: number,
  ) {}

  parseWhole(): Term {
    this.#skipSpace();
    if (this.#pos >= this.text.length) this.#fail('expected a term, found nothing');
    const term = this.#term(1);
    this.#skipSpace();
    if (this.#peek() === '.') {
      this.#pos++;
      this.#skipSpace();
    }
    if (this.#pos < this.text.length) this.#fail(`unexpected ${this.#describe()} after the term`);
    return term;
  }

  #fail(problem: string, at = this.#pos): never {
    const before = this.text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    const where = this.text.includes('\n') ? `line ${line}, column ${column}` : `column ${column}`;
    throw new UsageError(`invalid Erlang term at ${where}: ${problem}`);
  }

  #peek(offset = 0): string {
    return this.text[this.#pos + offset] ?? '';
  }

  #describe(at = this.#pos): string {
    if (at >= this.text.length) return 'the end of the text';
    const match = /^(?:[\p{L}\p{N}_@]+|\S)/u.exec(this.text.slice(at));
    return `'${match?.[0] ?? this.text[at]}'`;
  }

  #skipSpace(): void {
    for (;;) {
      const char = this.#peek();
      if (char === ' ' || char === '\t' || char === '\n' || char === '\r' || char === '\f' || char === '\v') {
        this.#pos++;
      } else if (char === '%') {
        while (this.#pos < this.text.length && this.text[this.#pos] !== '\n') this.#pos++;
      } else {
        return;
      }
    }
  }

  #expect(token: string, context: string): void {
    this.#skipSpace();
    if (!this.text.startsWith(token, this.#pos)) {
      this.#fail(`expected ${context}, found ${this.#describe()}`);
    }
    this.#pos += token.length;
  }

  #term(depth: number): Term {
    if (depth > this.maxDepth) this.#fail(`term nests deeper than ${this.maxDepth} levels`);
    this.#skipSpace();
    const char = this.#peek();
    const code = this.text.codePointAt(this.#pos) ?? 0;
    if (char === '{') return this.#tuple(depth);
    if (char === '[') return this.#list(depth);
    if (char === '#') {
      if (this.#peek(1) === '{') return this.#map(depth);
      this.#fail('pids, ports, references and funs cannot be written as terms');
    }
    if (char === '<') {
      if (this.#peek(1) === '<') return this.#binary();
      this.#fail('pids cannot be written as terms');
    }
    if (char === '"') return this.#charlist();
    if (char === "'") return { type: 'atom', name: this.#quotedAtom() };
    if (char === '$' || char === '-' || char === '+' || (char >= '0' && char <= '9')) return this.#number();
    if (isAtomStart(code)) return this.#bareAtom();
    if (char === '_' || (char >= 'A' && char <= 'Z') || (code >= 0xc0 && code <= 0xde && code !== 0xd7)) {
      const word = this.#describe();
      this.#fail(`${word} is a variable, not a term (quote it to make an atom: '${word.slice(1, -1)}')`);
    }
    if (this.#pos >= this.text.length) this.#fail('expected a term, found the end of the text');
    return this.#fail(`expected a term, found ${this.#describe()}`);
  }

  #tuple(depth: number): Term {
    this.#pos++; // {
    return { type: 'tuple', elements: this.#sequence('}', depth, 'a tuple') };
  }

  /** Comma-separated terms up to `close`, which is consumed. */
  #sequence(close: string, depth: number, what: string): Term[] {
    const elements: Term[] = [];
    this.#skipSpace();
    if (this.#peek() === close) {
      this.#pos++;
      return elements;
    }
    for (;;) {
      elements.push(this.#term(depth + 1));
      this.#skipSpace();
      if (this.#peek() === ',') {
        this.#pos++;
        continue;
      }
      if (this.#peek() === close) {
        this.#pos++;
        return elements;
      }
      this.#fail(`expected ',' or '${close}' in ${what}, found ${this.#describe()}`);
    }
  }

  #list(depth: number): Term {
    this.#pos++; // [
    const elements: Term[] = [];
    this.#skipSpace();
    if (this.#peek() === ']') {
      this.#pos++;
      return { type: 'list', elements };
    }
    for (;;) {
      elements.push(this.#term(depth + 1));
      this.#skipSpace();
      const char = this.#peek();
      this.#pos++;
      if (char === ',') continue;
      if (char === ']') return { type: 'list', elements };
      if (char === '|') {
        const tail = this.#term(depth + 1);
        this.#expect(']', "']' after the tail of a list");
        if (tail.type !== 'list') return { type: 'list', elements, tail };
        // [a | [b]] is [a, b]: keep the model's one representation per list.
        return tail.tail === undefined
          ? { type: 'list', elements: [...elements, ...tail.elements] }
          : { type: 'list', elements: [...elements, ...tail.elements], tail: tail.tail };
      }
      this.#pos--;
      this.#fail(`expected ',', '|' or ']' in a list, found ${this.#describe()}`);
    }
  }

  #map(depth: number): Term {
    this.#pos += 2; // #{
    // Keyed by each key's encoding, so that a map of many keys is read in linear time.
    const entries = new Map<string, [Term, Term]>();
    const done = (): Term => ({ type: 'map', entries: [...entries.values()] });
    this.#skipSpace();
    if (this.#peek() === '}') {
      this.#pos++;
      return done();
    }
    for (;;) {
      const key = this.#term(depth + 1);
      this.#expect('=>', "'=>' after a map key");
      const value = this.#term(depth + 1);
      // As in Erlang, #{a => 1, a => 2} is #{a => 2}.
      const identity = encodeTerm(key).toString('latin1');
      entries.delete(identity);
      entries.set(identity, [key, value]);
      this.#skipSpace();
      const char = this.#peek();
      this.#pos++;
      if (char === ',') continue;
      if (char === '}') return done();
      this.#pos--;
      this.#fail(`expected ',' or '}' in a map, found ${this.#describe()}`);
    }
  }

  #bareAtom(): Term {
    const start = this.#pos;
    while (this.#pos < this.text.length && isNameChar(this.text.codePointAt(this.#pos) ?? 0)) this.#pos++;
    const name = this.text.slice(start, this.#pos);
    if (name === 'fun') this.#fail('funs cannot be written as terms', start);
    this.#checkAtomLength(name, start);
    return { type: 'atom', name };
  }

  #quotedAtom(): string {
    const start = this.#pos;
    const name = codePointsToString(this.#quoted("'"));
    this.#checkAtomLength(name, start);
    return name;
  }

  #checkAtomLength(name: string, at: number): void {
    let characters = 0;
    for (const _ of name) characters++;
    if (characters > MAX_ATOM_CHARACTERS) this.#fail(`atom of ${characters} characters (at most 255)`, at);
  }

  /** The code points between a pair of quotes, escapes resolved; the opening quote is at the cursor. */
  #quoted(quote: string): number[] {
    const start = this.#pos;
    this.#pos++;
    const codes: number[] = [];
    for (;;) {
      if (this.#pos >= this.text.length)
        this.#fail(`unterminated ${quote === '"' ? 'string' : 'quoted atom'}`, start);
      const code = this.text.codePointAt(this.#pos) ?? 0;
      if (code === quote.charCodeAt(0)) {
        this.#pos++;
        return codes;
      }
      if (code === 0x5c) codes.push(this.#escape());
      else {
        codes.push(code);
        this.#pos += code > 0xffff ? 2 : 1;
      }
    }
  }

  /** An escape sequence, backslash at the cursor (Erlang Reference Manual, "Escape Sequences"). */
  #escape(): number {
    const start = this.#pos;
    this.#pos++; // backslash
    const char = this.#peek();
    if (char === '') this.#fail('backslash at the end of the text', start);
    const simple = SIMPLE_ESCAPES[char];
    if (simple !== undefined) {
      this.#pos++;
      return simple;
    }
    const octal = /^[0-7]{1,3}/.exec(this.text.slice(this.#pos, this.#pos + 3));
    if (octal) {
      this.#pos += octal[0].length;
      return parseInt(octal[0], 8);
    }
    if (char === 'x') {
      const braced = /^x\{([0-9a-fA-F]+)\}/.exec(this.text.slice(this.#pos, this.#pos + 12));
      const short = /^x([0-9a-fA-F]{2})/.exec(this.text.slice(this.#pos, this.#pos + 3));
      const match = braced ?? short;
      if (!match) this.#fail('expected \\xHH or \\x{H...} after \\x', start);
      const code = parseInt(match[1] as string, 16);
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        this.#fail(`\\x{${match[1]}} is not a Unicode code point`, start);
      }
      this.#pos += match[0].length;
      return code;
    }
    if (char === '^') {
      const control = this.#peek(1);
      if (/^[a-zA-Z@[\\\]^_]$/.test(control)) {
        this.#pos += 2;
        return control.charCodeAt(0) & 0x1f;
      }
      if (control === '?') {
        this.#pos += 2;
        return 0x7f;
      }
      this.#fail('expected a letter after \\^', start);
    }
    // Any other escaped character stands for itself (\\, \', \" and the rest).
    const code = this.text.codePointAt(this.#pos) ?? 0;
    this.#pos += code > 0xffff ? 2 : 1;
    return code;
  }

  #charlist(): Term {
    const codes = this.#strings();
    return { type: 'list', elements: codes.map((code) => ({ type: 'integer', value: code })) };
  }

  /** One string literal, or several in a row ("ab" "cd" is "abcd", as in Erlang). */
  #strings(): number[] {
    const codes = this.#quoted('"');
    for (;;) {
      const save = this.#pos;
      this.#skipSpace();
      if (this.#peek() !== '"') {
        this.#pos = save;
        return codes;
      }
      for (const code of this.#quoted('"')) codes.push(code);
    }
  }

  #number(): Term {
    const start = this.#pos;
    let sign = '';
    if (this.#peek() === '-' || this.#peek() === '+') {
      sign = this.#peek() === '-' ? '-' : '';
      this.#pos++;
      this.#skipSpace();
    }
    if (this.#peek() === '$') return integer(BigInt(sign + this.#char()));
    const digits = this.#digits(/[0-9]/);
    if (digits === '') this.#fail(`expected a number after '${this.text[start]}', found ${this.#describe()}`);
    let term: Term;
    if (this.#peek() === '#') {
      this.#pos++;
      const radix = Number(digits.replaceAll('_', ''));
      if (radix < 2 || radix > 36) this.#fail(`base ${radix} is not between 2 and 36`, start);
      const allowed = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, radix);
      const body = this.#digits(new RegExp(`[${allowed}]`, 'i'));
      if (body === '') this.#fail(`expected base-${radix} digits, found ${this.#describe()}`);
      let value = 0n;
      for (const char of body.replaceAll('_', '').toLowerCase())
        value = value * BigInt(radix) + BigInt(allowed.indexOf(char));
      term = integer(sign === '-' ? -value : value);
    } else if (this.#peek() === '.' && /[0-9]/.test(this.#peek(1))) {
      this.#pos++;
      let text = `${digits}.${this.#digits(/[0-9]/)}`;
      if (/[eE]/.test(this.#peek())) {
        const exponent = /^[eE][+-]?[0-9]+/.exec(this.text.slice(this.#pos));
        if (!exponent)
          this.#fail(`expected an exponent after '${this.#peek()}', found ${this.#describe(this.#pos + 1)}`);
        text += exponent[0];
        this.#pos += exponent[0].length;
      }
      const value = Number(sign + text.replaceAll('_', ''));
      if (!Number.isFinite(value)) this.#fail(`float ${text} is out of range`, start);
      term = { type: 'float', value };
    } else {
      term = integer(BigInt(sign + digits.replaceAll('_', '')));
    }
    if (isNameChar(this.text.codePointAt(this.#pos) ?? 0)) {
      const hint = /^[eE]/.test(this.#peek()) ? ' (write floats with a fraction, as 1.0e10)' : '';
      this.#fail(`unexpected ${this.#describe()} after a number${hint}`);
    }
    return term;
  }

  /** Digits matching `digit`, with single underscores between them as Erlang allows (1_000_000). */
  #digits(digit: RegExp): string {
    const start = this.#pos;
    while (
      digit.test(this.#peek()) ||
      (this.#peek() === '_' && digit.test(this.#peek(-1)) && digit.test(this.#peek(1)))
    ) {
      this.#pos++;
    }
    return this.text.slice(start, this.#pos);
  }

  /** `$c`: the code point of c (or of an escape), as a decimal string. */
  #char(): string {
    const start = this.#pos;
    this.#pos++; // $
    if (this.#pos >= this.text.length) this.#fail('expected a character after $', start);
    if (this.#peek() === '\\') return String(this.#escape());
    const code = this.text.codePointAt(this.#pos) ?? 0;
    this.#pos += code > 0xffff ? 2 : 1;
    return String(code);
  }

  #binary(): Term {
    this.#pos += 2; // <<
    const bits = new BitWriter();
    this.#skipSpace();
    if (this.text.startsWith('>>', this.#pos)) {
      this.#pos += 2;
      return bits.toTerm();
    }
    for (;;) {
      this.#segment(bits);
      this.#skipSpace();
      if (this.#peek() === ',') {
        this.#pos++;
        continue;
      }
      if (this.text.startsWith('>>', this.#pos)) {
        this.#pos += 2;
        return bits.toTerm();
      }
      this.#fail(`expected ',' or '>>' in a binary, found ${this.#describe()}`);
    }
  }

  /** One segment of a binary: a value (string, integer or $c), then optional `:Size` and `/utf8`-like types. */
  #segment(bits: BitWriter): void {
    this.#skipSpace();
    const start = this.#pos;
    let codes: number[] | undefined;
    let value: bigint | undefined;
    if (this.#peek() === '"') {
      codes = this.#strings();
    } else if (/[-+$0-9]/.test(this.#peek())) {
      const number = this.#number();
      if (number.type !== 'integer')
        this.#fail('binary segments hold integers and strings, not floats', start);
      value = BigInt(number.value);
    } else {
      this.#fail(`expected an integer or a string in a binary, found ${this.#describe()}`);
    }
    this.#skipSpace();
    let size: number | undefined;
    if (this.#peek() === ':') {
      this.#pos++;
      this.#skipSpace();
      const sizeAt = this.#pos;
      const digits = this.#digits(/[0-9]/);
      if (digits === '') this.#fail(`expected a size after ':', found ${this.#describe()}`);
      size = Number(digits.replaceAll('_', ''));
      if (size > MAX_SEGMENT_BITS)
        this.#fail(`segment size ${size} is above ${MAX_SEGMENT_BITS} bits`, sizeAt);
      this.#skipSpace();
    }
    let utf8 = false;
    if (this.#peek() === '/') {
      this.#pos++;
      for (;;) {
        this.#skipSpace();
        const typeAt = this.#pos;
        const word = /^[a-z0-9]+/.exec(this.text.slice(this.#pos))?.[0] ?? '';
        this.#pos += word.length;
        if (word === 'utf8') utf8 = true;
        // Integers are already big-endian and unsigned values are written as given.
        else if (!['integer', 'big', 'unsigned', 'signed'].includes(word)) {
          this.#fail(
            `unsupported binary segment type ${this.#describe(typeAt)} (use utf8, integer, signed or unsigned)`,
            typeAt,
          );
        }
        if (this.#peek() !== '-') break;
        this.#pos++;
      }
    }
    if (utf8 && size !== undefined) this.#fail('a utf8 segment takes no size', start);
    for (const code of codes ?? [value as bigint]) {
      if (utf8) {
        const point = Number(code);
        if (point < 0 || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) {
          this.#fail(`${point} is not a Unicode code point`, start);
        }
        bits.bytes(Buffer.from(String.fromCodePoint(point), 'utf8'));
      } else {
        if (codes !== undefined && Number(code) > 0xff && size === undefined) {
          this.#fail(`character ${Number(code)} does not fit in a byte: add /utf8 to the string`, start);
        }
        bits.integer(BigInt(code), size ?? 8);
      }
    }
  }
}

/** Builds a binary or bitstring bit by bit, big-endian, for the segments of a binary literal. */
class BitWriter {
  #bytes: number[] = [];
  #bits = 0; // bits used in the last byte, 0 when it is full

  bytes(data: Uint8Array): void {
    for (const byte of data) this.integer(BigInt(byte), 8);
  }

  /** The low `size` bits of `value` (two's complement for negatives), as Erlang truncates. */
  integer(value: bigint, size: number): void {
    const masked = BigInt.asUintN(size, value);
    if (this.#bits === 0 && size % 8 === 0) {
      for (let shift = size - 8; shift >= 0; shift -= 8)
        this.#bytes.push(Number((masked >> BigInt(shift)) & 0xffn));
      return;
    }
    for (let shift = size - 1; shift >= 0; shift--) {
      if (this.#bits === 0) this.#bytes.push(0);
      const bit = Number((masked >> BigInt(shift)) & 1n);
      const last = this.#bytes.length - 1;
      this.#bytes[last] = (this.#bytes[last] as number) | (bit << (7 - this.#bits));
      this.#bits = (this.#bits + 1) % 8;
    }
  }

  toTerm(): Term {
    const data = Buffer.from(this.#bytes);
    return this.#bits === 0 ? { type: 'binary', data } : { type: 'bitstring', data, bits: this.#bits };
  }
}
