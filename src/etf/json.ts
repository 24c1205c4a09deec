import { formatTerm, printableCodes } from './format.js';
import { codePointsToString } from './syntax.js';
import type { Term } from './term.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A value `JSON.stringify` writes as it is. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Renders a term as JSON-ready data. The mapping favours what a JSON consumer expects over reversibility
 * (atoms, binaries and charlists all become strings); tagged objects carry what JSON has no type for.
 *
 * | Erlang                                   | JSON                                                    |
 * | ---------------------------------------- | ------------------------------------------------------- |
 * | integer within ±(2^53 − 1)               | number                                                  |
 * | larger integer                           | `{"$bigint": "123456789012345678901234567890"}`         |
 * | float                                    | number (`1.0` becomes `1`)                              |
 * | `true`, `false`                          | `true`, `false`                                         |
 * | `nil`, `undefined`                       | `null`                                                  |
 * | other atom                               | string                                                  |
 * | binary of valid UTF-8                    | string                                                  |
 * | other binary                             | `{"$base64": "AAEC"}`                                   |
 * | bitstring                                | `{"$bitstring": "<<1,2,3:4>>"}` (Erlang syntax)         |
 * | printable charlist (non-empty)           | string                                                  |
 * | other proper list, `[]`                  | array                                                   |
 * | improper list `[a, b \| c]`              | `{"$improper": {"elements": ["a", "b"], "tail": "c"}}`  |
 * | tuple                                    | `{"$tuple": [...]}`                                     |
 * | map whose keys all become distinct strings not starting with `$` | object                          |
 * | other map                                | `{"$map": [[key, value], ...]}`                         |
 * | pid, port, reference, fun                | `{"$pid": "#PID<a@b.85.0>"}`, `$port`, `$ref`, `$fun`, with the text `formatTerm` writes |
 *
 * Map keys become strings by the same rules as values (atoms, UTF-8 binaries, printable charlists); a map
 * with any other key, or two keys giving the same string, uses the `$map` form.
 */
export function termToJson(term: Term): JsonValue {
  switch (term.type) {
    case 'integer':
      return typeof term.value === 'number' ? term.value : { $bigint: term.value.toString() };
    case 'float':
      return term.value;
    case 'atom':
      if (term.name === 'true') return true;
      if (term.name === 'false') return false;
      if (term.name === 'nil' || term.name === 'undefined') return null;
      return term.name;
    case 'binary': {
      const text = decodeUtf8(term.data);
      return text ?? { $base64: Buffer.from(term.data).toString('base64') };
    }
    case 'bitstring':
      return { $bitstring: formatTerm(term) };
    case 'list': {
      const codes = printableCodes(term);
      if (codes !== undefined) return codePointsToString(codes);
      const elements = term.elements.map(termToJson);
      if (term.tail === undefined) return elements;
      return { $improper: { elements, tail: termToJson(term.tail) } };
    }
    case 'tuple':
      return { $tuple: term.elements.map(termToJson) };
    case 'map':
      return mapToJson(term.entries);
    case 'pid':
      return { $pid: formatTerm(term) };
    case 'port':
      return { $port: formatTerm(term) };
    case 'reference':
      return { $ref: formatTerm(term) };
    case 'fun':
    case 'export':
      return { $fun: formatTerm(term) };
  }
}

function decodeUtf8(data: Uint8Array): string | undefined {
  try {
    return utf8.decode(data);
  } catch {
    return undefined;
  }
}

/** The string a map key stands for in a JSON object, or undefined when it has none. */
function keyString(key: Term): string | undefined {
  if (key.type === 'atom') return key.name;
  if (key.type === 'binary') return decodeUtf8(key.data);
  if (key.type === 'list') {
    const codes = printableCodes(key);
    return codes === undefined ? undefined : codePointsToString(codes);
  }
  return undefined;
}

function mapToJson(entries: readonly (readonly [Term, Term])[]): JsonValue {
  const object: { [key: string]: JsonValue } = {};
  const seen = new Set<string>();
  for (const [key, value] of entries) {
    const name = keyString(key);
    // A key starting with $ could be mistaken for one of the tags above.
    if (name === undefined || name.startsWith('$') || seen.has(name)) {
      return { $map: entries.map(([k, v]) => [termToJson(k), termToJson(v)]) };
    }
    seen.add(name);
    // defineProperty, not assignment: a key named __proto__ must become data, not a prototype.
    Object.defineProperty(object, name, {
      value: termToJson(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return object;
}
