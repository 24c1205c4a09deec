import type { ListTerm, MapTerm, Term } from './term.js';

// Erlang's term order: number < atom < reference < fun < port < pid < tuple < map < nil < list < bitstring.
const TYPE_RANK: Record<Term['type'], number> = {
  integer: 0,
  float: 0,
  atom: 1,
  reference: 2,
  export: 3,
  fun: 3,
  port: 4,
  pid: 5,
  tuple: 6,
  map: 7,
  list: 8, // 8 for [], 9 for a non-empty list: see rankOf
  binary: 10,
  bitstring: 10,
};

function rankOf(term: Term): number {
  if (term.type === 'list' && term.elements.length > 0) return 9;
  return TYPE_RANK[term.type];
}

/**
 * Compares two terms in Erlang's exact term order, the order of map keys: `-1`, `0` or `1`.
 * `0` means exactly equal (`=:=`), so `1` and `1.0` differ: integers sort before every float, as map keys do
 * in the VM. `-0.0` sorts before `0.0` (OTP 27 semantics). The order among pids, ports, references and funs
 * follows their fields and only approximates the VM's, which depends on node tables.
 */
export function compareTerms(a: Term, b: Term): number {
  const rankA = rankOf(a);
  const rankB = rankOf(b);
  if (rankA !== rankB) return rankA < rankB ? -1 : 1;
  switch (a.type) {
    case 'integer':
      if (b.type === 'float') return -1;
      return b.type === 'integer' ? compareIntegers(a.value, b.value) : 0;
    case 'float':
      if (b.type === 'integer') return 1;
      return b.type === 'float' ? compareFloats(a.value, b.value) : 0;
    case 'atom':
      return b.type === 'atom' ? compareCodePoints(a.name, b.name) : 0;
    case 'tuple':
      if (b.type !== 'tuple') return 0;
      return sign(a.elements.length - b.elements.length) || compareSequences(a.elements, b.elements);
    case 'map':
      return b.type === 'map' ? compareMaps(a, b) : 0;
    case 'list':
      return b.type === 'list' ? compareLists(a, b) : 0;
    case 'binary':
    case 'bitstring':
      return b.type === 'binary' || b.type === 'bitstring' ? compareBits(a, b) : 0;
    case 'reference':
      if (b.type !== 'reference') return 0;
      return (
        compareCodePoints(a.node, b.node) ||
        sign(a.creation - b.creation) ||
        sign(a.ids.length - b.ids.length) ||
        compareSequences([...a.ids].reverse(), [...b.ids].reverse())
      );
    case 'export':
      if (b.type === 'fun') return -1;
      if (b.type !== 'export') return 0;
      return (
        compareCodePoints(a.module, b.module) ||
        compareCodePoints(a.function, b.function) ||
        sign(a.arity - b.arity)
      );
    case 'fun':
      if (b.type === 'export') return 1;
      if (b.type !== 'fun') return 0;
      return (
        compareCodePoints(a.module, b.module) ||
        sign(a.oldIndex - b.oldIndex) ||
        sign(a.oldUniq - b.oldUniq) ||
        compareTerms(a.pid, b.pid) ||
        sign(a.freeVars.length - b.freeVars.length) ||
        compareSequences(a.freeVars, b.freeVars)
      );
    case 'port':
      if (b.type !== 'port') return 0;
      return (
        compareCodePoints(a.node, b.node) ||
        (a.id === b.id ? 0 : a.id < b.id ? -1 : 1) ||
        sign(a.creation - b.creation)
      );
    case 'pid':
      if (b.type !== 'pid') return 0;
      return (
        compareCodePoints(a.node, b.node) ||
        sign(a.id - b.id) ||
        sign(a.serial - b.serial) ||
        sign(a.creation - b.creation)
      );
  }
}

/** Exact equality (`=:=`); maps compare equal whatever the order of their entries. */
export function termsEqual(a: Term, b: Term): boolean {
  return compareTerms(a, b) === 0;
}

/** Map entries in the order the VM keeps small maps in: keys in term order. */
export function sortEntries(entries: MapTerm['entries']): MapTerm['entries'] {
  return [...entries].sort((x, y) => compareTerms(x[0], y[0]));
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function compareIntegers(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'number' && typeof b === 'number') return sign(a - b);
  const x = BigInt(a);
  const y = BigInt(b);
  return x === y ? 0 : x < y ? -1 : 1;
}

function compareFloats(a: number, b: number): number {
  if (a === b) return Object.is(a, b) ? 0 : Object.is(a, -0) ? -1 : 1;
  return a < b ? -1 : 1;
}

/** Atoms order by their UTF-8 bytes, which is code point order (JS `<` compares UTF-16 units instead). */
function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(j) ?? 0;
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return sign(a.length - i - (b.length - j));
}

function compareSequences(a: readonly (Term | number)[], b: readonly (Term | number)[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as Term | number;
    const y = b[i] as Term | number;
    const order =
      typeof x === 'number' || typeof y === 'number' ? sign(Number(x) - Number(y)) : compareTerms(x, y);
    if (order !== 0) return order;
  }
  return sign(a.length - b.length);
}

/** Lists compare cell by cell; where one runs out, what is left of each (a shorter list or a tail) is compared. */
function compareLists(a: ListTerm, b: ListTerm): number {
  // Both [] (term ranks keep [] apart from non-empty lists, so otherwise both have a first element).
  if (a.elements.length === 0 || b.elements.length === 0) return sign(a.elements.length - b.elements.length);
  const n = Math.min(a.elements.length, b.elements.length);
  for (let i = 0; i < n; i++) {
    const order = compareTerms(a.elements[i] as Term, b.elements[i] as Term);
    if (order !== 0) return order;
  }
  return compareTerms(rest(a, n), rest(b, n));
}

function rest(list: ListTerm, from: number): Term {
  if (from < list.elements.length) {
    return { type: 'list', elements: list.elements.slice(from), ...(list.tail ? { tail: list.tail } : {}) };
  }
  return list.tail ?? { type: 'list', elements: [] };
}

function compareMaps(a: MapTerm, b: MapTerm): number {
  const bySize = sign(a.entries.length - b.entries.length);
  if (bySize !== 0) return bySize;
  const x = sortEntries(a.entries);
  const y = sortEntries(b.entries);
  return (
    compareSequences(
      x.map((e) => e[0]),
      y.map((e) => e[0]),
    ) ||
    compareSequences(
      x.map((e) => e[1]),
      y.map((e) => e[1]),
    )
  );
}

function bitLength(term: { data: Uint8Array; bits?: number }): number {
  return 'bits' in term && term.bits !== undefined
    ? (term.data.length - 1) * 8 + term.bits
    : term.data.length * 8;
}

function compareBits(a: { data: Uint8Array; bits?: number }, b: { data: Uint8Array; bits?: number }): number {
  const lengthA = bitLength(a);
  const lengthB = bitLength(b);
  const common = Math.min(lengthA, lengthB);
  const wholeBytes = common >> 3;
  const byBytes = Buffer.compare(a.data.subarray(0, wholeBytes), b.data.subarray(0, wholeBytes));
  if (byBytes !== 0) return byBytes;
  const spareBits = common & 7;
  if (spareBits > 0) {
    const mask = (0xff << (8 - spareBits)) & 0xff;
    const x = (a.data[wholeBytes] ?? 0) & mask;
    const y = (b.data[wholeBytes] ?? 0) & mask;
    if (x !== y) return x < y ? -1 : 1;
  }
  return sign(lengthA - lengthB);
}
