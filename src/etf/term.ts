/**
 * The Erlang term model: one variant per kind of Erlang value, told apart by `type`.
 *
 * Invariants that the decoder and the constructors below keep (and that equality relies on):
 * - an integer's `value` is a `number` when it is a safe integer, a `bigint` otherwise;
 * - a list's `tail` is present only for an improper list, is never itself a list, and then `elements` is
 *   non-empty; `[]` is a list with no elements and no tail. Charlists (Erlang strings) are lists of integers;
 * - a bitstring has 1 to 7 significant bits in its last byte (whole bytes are a `binary`);
 * - a map keeps its entries in the order they were decoded or given; encoding sorts maps of up to 32 keys into
 *   Erlang term order as the VM does.
 *
 * Pids, ports, references and funs come from decoding; they can be re-encoded but not written in term syntax.
 */
export type Term =
  | IntegerTerm
  | FloatTerm
  | AtomTerm
  | BinaryTerm
  | BitstringTerm
  | ListTerm
  | TupleTerm
  | MapTerm
  | PidTerm
  | PortTerm
  | ReferenceTerm
  | FunTerm
  | ExportTerm;

export interface IntegerTerm {
  readonly type: 'integer';
  readonly value: number | bigint;
}

export interface FloatTerm {
  readonly type: 'float';
  readonly value: number;
}

export interface AtomTerm {
  readonly type: 'atom';
  readonly name: string;
}

export interface BinaryTerm {
  readonly type: 'binary';
  readonly data: Uint8Array;
}

export interface BitstringTerm {
  readonly type: 'bitstring';
  /** Bytes, the last one holding `bits` significant bits at its high end. */
  readonly data: Uint8Array;
  /** Significant bits in the last byte, 1..7. */
  readonly bits: number;
}

export interface ListTerm {
  readonly type: 'list';
  readonly elements: readonly Term[];
  /** The tail of an improper list (`[a | b]`); absent for a proper list. */
  readonly tail?: Term;
}

export interface TupleTerm {
  readonly type: 'tuple';
  readonly elements: readonly Term[];
}

export interface MapTerm {
  readonly type: 'map';
  readonly entries: readonly (readonly [Term, Term])[];
}

export interface PidTerm {
  readonly type: 'pid';
  readonly node: string;
  readonly id: number;
  readonly serial: number;
  readonly creation: number;
}

export interface PortTerm {
  readonly type: 'port';
  readonly node: string;
  readonly id: bigint;
  readonly creation: number;
}

export interface ReferenceTerm {
  readonly type: 'reference';
  readonly node: string;
  readonly creation: number;
  /** The 32-bit words as they appear on the wire, least significant first. */
  readonly ids: readonly number[];
}

/** A closure (NEW_FUN_EXT): shown and re-encoded, never called. */
export interface FunTerm {
  readonly type: 'fun';
  readonly module: string;
  readonly arity: number;
  /** 16-byte MD5 of the module's code. */
  readonly uniq: Uint8Array;
  readonly index: number;
  readonly oldIndex: number;
  readonly oldUniq: number;
  readonly pid: PidTerm;
  readonly freeVars: readonly Term[];
}

/** An external fun, `fun Module:Function/Arity` (EXPORT_EXT). */
export interface ExportTerm {
  readonly type: 'export';
  readonly module: string;
  readonly function: string;
  readonly arity: number;
}

/** An integer term, normalised so that safe integers are numbers and the rest bigints. */
export function integer(value: number | bigint): IntegerTerm {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new RangeError(`${value} is not an integer`);
    return { type: 'integer', value: Number.isSafeInteger(value) ? value : BigInt(value) };
  }
  const fits = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER);
  return { type: 'integer', value: fits ? Number(value) : value };
}

export function float(value: number): FloatTerm {
  return { type: 'float', value };
}

export function atom(name: string): AtomTerm {
  return { type: 'atom', name };
}

/** A binary from bytes, or from a string encoded as UTF-8 (Erlang's `<<"text"/utf8>>`). */
export function binary(data: Uint8Array | string): BinaryTerm {
  return { type: 'binary', data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data };
}

export function tuple(...elements: Term[]): TupleTerm {
  return { type: 'tuple', elements };
}

/** A list; a `tail` that is itself a list is merged in, so `list([a], list([b]))` is `[a, b]`. */
export function list(elements: readonly Term[], tail?: Term): Term {
  if (tail === undefined) return { type: 'list', elements };
  if (tail.type === 'list') {
    const merged = [...elements, ...tail.elements];
    return tail.tail === undefined ? { type: 'list', elements: merged } : list(merged, tail.tail);
  }
  // `[ | T]` is just T, as in the VM.
  if (elements.length === 0) return tail;
  return { type: 'list', elements, tail };
}

/** An Erlang string: the list of the text's Unicode code points. */
export function charlist(text: string): ListTerm {
  return { type: 'list', elements: Array.from(text, (c) => integer(c.codePointAt(0) ?? 0)) };
}

export function map(entries: readonly (readonly [Term, Term])[]): MapTerm {
  return { type: 'map', entries };
}

export const NIL: ListTerm = { type: 'list', elements: [] };
export const TRUE: AtomTerm = atom('true');
export const FALSE: AtomTerm = atom('false');
