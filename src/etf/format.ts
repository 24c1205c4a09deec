import { sortEntries } from './compare.js';
import { EtfError } from './errors.js';
import { formatFloat } from './float-text.js';
import { formatAtom, isPrintable, quoteText } from './syntax.js';
import { MAX_FLATMAP_SIZE } from './tags.js';
import type { ListTerm, Term } from './term.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Writes a term in Erlang syntax on one line, as `io_lib:format("~0tp", [Term])` does, so that `parseTerm` reads
 * it back as the same term:
 * - lists of printable code points as `"text"`, binaries of printable UTF-8 as `<<"text">>` (ASCII) or
 *   `<<"text"/utf8>>`, other binaries as `<<1,2,3>>` and bitstrings as `<<1,2,3:4>>` (unlike `~tp`, bytes that
 *   are not UTF-8 are never shown as Latin-1 text);
 * - maps of up to 32 keys in key order, larger maps in entry order;
 * - floats in the shortest form that reads back exactly (`1.5`, `1.0e-5`);
 * - what term syntax cannot write, in a readable form that names the node, where `~p` would show a number
 *   meaningful only inside one VM: `#PID<node@host.123.0>` (node, id, serial), `#Port<node@host.42>`,
 *   `#Ref<node@host.2168793520.3121086465.71720>` (most significant word first, as Erlang prints it),
 *   `#Fun<module.index.uniq>` and `fun module:function/arity`. Node names are quoted when they are not bare
 *   atoms (`#PID<'a@host.example'.1.0>`), so the text stays unambiguous.
 */
export function formatTerm(term: Term): string {
  try {
    return format(term);
  } catch (error) {
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new EtfError('cannot format Erlang term: it nests too deeply', 'ERR_ETF_UNENCODABLE', undefined, {
        cause: error,
      });
    }
    throw error;
  }
}

function format(term: Term): string {
  switch (term.type) {
    case 'integer':
      return String(term.value);
    case 'float':
      return formatFloat(term.value);
    case 'atom':
      return formatAtom(term.name);
    case 'binary':
      return formatBinary(term.data);
    case 'bitstring': {
      const whole = Array.from(term.data.subarray(0, -1), String);
      const last = (term.data[term.data.length - 1] ?? 0) >> (8 - term.bits);
      return `<<${[...whole, `${last}:${term.bits}`].join(',')}>>`;
    }
    case 'list':
      return formatList(term);
    case 'tuple':
      return `{${term.elements.map(format).join(',')}}`;
    case 'map': {
      const entries = term.entries.length <= MAX_FLATMAP_SIZE ? sortEntries(term.entries) : term.entries;
      return `#{${entries.map(([key, value]) => `${format(key)} => ${format(value)}`).join(',')}}`;
    }
    case 'pid':
      return `#PID<${formatAtom(term.node)}.${term.id}.${term.serial}>`;
    case 'port':
      return `#Port<${formatAtom(term.node)}.${term.id}>`;
    case 'reference':
      return `#Ref<${formatAtom(term.node)}.${[...term.ids].reverse().join('.')}>`;
    case 'fun':
      return `#Fun<${formatAtom(term.module)}.${term.oldIndex}.${term.oldUniq}>`;
    case 'export':
      return `fun ${formatAtom(term.module)}:${formatAtom(term.function)}/${term.arity}`;
  }
}

/** The code points of a proper list that Erlang would print as a string, or undefined. */
export function printableCodes(list: ListTerm): number[] | undefined {
  if (list.tail !== undefined || list.elements.length === 0) return undefined;
  const codes: number[] = [];
  for (const element of list.elements) {
    if (element.type !== 'integer' || typeof element.value !== 'number' || !isPrintable(element.value)) {
      return undefined;
    }
    codes.push(element.value);
  }
  return codes;
}

/** The text of a binary that is valid UTF-8 made of printable characters, or undefined. */
export function printableText(data: Uint8Array): string | undefined {
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return undefined;
  }
  for (const char of text) if (!isPrintable(char.codePointAt(0) ?? 0)) return undefined;
  return text;
}

function formatList(list: ListTerm): string {
  const codes = printableCodes(list);
  if (codes !== undefined) return quoteText(codes, '"');
  const body = list.elements.map(format).join(',');
  return list.tail === undefined ? `[${body}]` : `[${body}|${format(list.tail)}]`;
}

function formatBinary(data: Uint8Array): string {
  if (data.length === 0) return '<<>>';
  const text = printableText(data);
  if (text === undefined) return `<<${data.join(',')}>>`;
  const codes = Array.from(text, (c) => c.codePointAt(0) ?? 0);
  // In Erlang syntax <<"é">> is the Latin-1 byte 233; UTF-8 text needs the /utf8 suffix to mean its bytes.
  const ascii = codes.every((code) => code < 0x80);
  return `<<${quoteText(codes, '"')}${ascii ? '' : '/utf8'}>>`;
}
