import { deflateSync } from 'node:zlib';
import { compareTerms } from './compare.js';
import { EtfError } from './errors.js';
import * as tag from './tags.js';
import type { BitstringTerm, FunTerm, MapTerm, PidTerm, Term } from './term.js';

export interface EncodeOptions {
  /**
   * How atoms are written, as `term_to_binary(T, [{minor_version, N}])`:
   * - `2` (the default, and OTP 26+'s): every atom as SMALL_ATOM_UTF8_EXT or ATOM_UTF8_EXT;
   * - `1` (the default of `term_to_binary/1` up to OTP 25): atoms whose characters are all Latin-1 as
   *   ATOM_EXT, the others as UTF-8.
   * Every OTP release since R16 decodes both.
   */
  minorVersion?: 1 | 2;
  /**
   * zlib-compress the term as `term_to_binary(T, [compressed])` (`true` is OTP's level 6, or give a level 0-9).
   * As in OTP, the compressed form is used only when it is smaller.
   */
  compressed?: boolean | number;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const UINT32_MAX = 0xffff_ffff;
const DEFAULT_COMPRESSION_LEVEL = 6;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Encodes a term in External Term Format (version 131), choosing the encodings `term_to_binary` does:
 * SMALL_INTEGER_EXT for 0..255, INTEGER_EXT for other 32-bit integers, SMALL_BIG_EXT/LARGE_BIG_EXT beyond,
 * NEW_FLOAT_EXT, atoms per `minorVersion`, STRING_EXT for proper lists of 0..255 up to 65,535 long,
 * SMALL_TUPLE_EXT/LARGE_TUPLE_EXT, MAP_EXT (keys in term order for up to 32 keys), BINARY_EXT, NIL_EXT,
 * LIST_EXT, and the newest pid, port and reference encodings. The bytes equal OTP's for every term but maps
 * of more than 32 keys, whose order the VM takes from its hash table; those are written in entry order.
 *
 * Throws `EtfError` `ERR_ETF_UNENCODABLE` for what Erlang cannot hold (NaN, a 256-character atom, a map with
 * a repeated key).
 */
export function encodeTerm(term: Term, options: EncodeOptions = {}): Buffer {
  const writer = new TermWriter(options.minorVersion ?? 2);
  writer.u8(tag.VERSION);
  try {
    writer.term(term);
  } catch (error) {
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new EtfError('cannot encode Erlang term: it nests too deeply', 'ERR_ETF_UNENCODABLE', undefined, {
        cause: error,
      });
    }
    throw error;
  }
  const plain = writer.result();
  const level = options.compressed === true ? DEFAULT_COMPRESSION_LEVEL : options.compressed;
  if (level === undefined || level === false) return plain;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new EtfError(`invalid compression level ${String(level)}: use 0 to 9`, 'ERR_ETF_UNENCODABLE');
  }
  const body = plain.subarray(1);
  const deflated = deflateSync(body, { level });
  const header = Buffer.from([tag.VERSION, tag.COMPRESSED, 0, 0, 0, 0]);
  header.writeUInt32BE(body.length, 2);
  if (header.length + deflated.length >= plain.length) return plain;
  return Buffer.concat([header, deflated]);
}

function unencodable(problem: string): never {
  throw new EtfError(`cannot encode Erlang term: ${problem}`, 'ERR_ETF_UNENCODABLE');
}

class TermWriter {
  #buf = Buffer.allocUnsafe(64);
  #length = 0;

  constructor(readonly minorVersion: 1 | 2) {}

  result(): Buffer {
    return this.#buf.subarray(0, this.#length);
  }

  #ensure(n: number): void {
    if (this.#length + n <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#length + n));
    this.#buf.copy(grown, 0, 0, this.#length);
    this.#buf = grown;
  }

  u8(value: number): void {
    this.#ensure(1);
    this.#buf[this.#length++] = value;
  }

  #u16(value: number): void {
    this.#ensure(2);
    this.#length = this.#buf.writeUInt16BE(value, this.#length);
  }

  #u32(value: number, what: string): void {
    if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX)
      unencodable(`${what} ${value} is not a 32-bit unsigned integer`);
    this.#ensure(4);
    this.#length = this.#buf.writeUInt32BE(value, this.#length);
  }

  #bytes(data: Uint8Array): void {
    this.#ensure(data.length);
    this.#buf.set(data, this.#length);
    this.#length += data.length;
  }

  term(term: Term): void {
    switch (term.type) {
      case 'integer':
        return this.#integer(term.value);
      case 'float':
        if (!Number.isFinite(term.value)) unencodable(`Erlang has no float ${term.value}`);
        this.u8(tag.NEW_FLOAT_EXT);
        this.#ensure(8);
        this.#length = this.#buf.writeDoubleBE(term.value, this.#length);
        return;
      case 'atom':
        return this.#atom(term.name);
      case 'binary':
        this.u8(tag.BINARY_EXT);
        this.#u32(term.data.length, 'binary size');
        return this.#bytes(term.data);
      case 'bitstring':
        return this.#bitstring(term);
      case 'list':
        return this.#list(term.elements, term.tail);
      case 'tuple':
        if (term.elements.length <= 0xff) {
          this.u8(tag.SMALL_TUPLE_EXT);
          this.u8(term.elements.length);
        } else {
          this.u8(tag.LARGE_TUPLE_EXT);
          this.#u32(term.elements.length, 'tuple size');
        }
        for (const element of term.elements) this.term(element);
        return;
      case 'map':
        return this.#map(term);
      case 'pid':
        return this.#pid(term);
      case 'port':
        if (term.id < 0n || term.id >= 2n ** 64n)
          unencodable(`port id ${term.id} is not a 64-bit unsigned integer`);
        // OTP writes the 64-bit V4_PORT_EXT only when the id needs it.
        this.u8(term.id > BigInt(UINT32_MAX) ? tag.V4_PORT_EXT : tag.NEW_PORT_EXT);
        this.#atom(term.node);
        if (term.id > BigInt(UINT32_MAX)) {
          this.#ensure(8);
          this.#length = this.#buf.writeBigUInt64BE(term.id, this.#length);
        } else {
          this.#u32(Number(term.id), 'port id');
        }
        return this.#u32(term.creation, 'port creation');
      case 'reference':
        if (term.ids.length < 1 || term.ids.length > tag.MAX_REFERENCE_WORDS) {
          unencodable(`a reference has 1 to ${tag.MAX_REFERENCE_WORDS} words, not ${term.ids.length}`);
        }
        this.u8(tag.NEWER_REFERENCE_EXT);
        this.#u16(term.ids.length);
        this.#atom(term.node);
        this.#u32(term.creation, 'reference creation');
        for (const id of term.ids) this.#u32(id, 'reference word');
        return;
      case 'fun':
        return this.#fun(term);
      case 'export':
        if (!Number.isInteger(term.arity) || term.arity < 0 || term.arity > 255)
          unencodable(`fun arity ${term.arity}`);
        this.u8(tag.EXPORT_EXT);
        this.#atom(term.module);
        this.#atom(term.function);
        this.u8(tag.SMALL_INTEGER_EXT);
        return this.u8(term.arity);
      default:
        return unencodable(`unknown term type ${String((term as { type?: unknown }).type)}`);
    }
  }

  #integer(value: number | bigint): void {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      unencodable(`${value} is not a safe integer (use a bigint)`);
    }
    if (value >= 0 && value <= 0xff) {
      this.u8(tag.SMALL_INTEGER_EXT);
      return this.u8(Number(value));
    }
    if (value >= INT32_MIN && value <= INT32_MAX) {
      this.u8(tag.INTEGER_EXT);
      this.#ensure(4);
      this.#length = this.#buf.writeInt32BE(Number(value), this.#length);
      return;
    }
    const big = BigInt(value);
    const magnitude = big < 0n ? -big : big;
    let hex = magnitude.toString(16);
    if (hex.length % 2 === 1) hex = `0${hex}`;
    const digits = Buffer.from(hex, 'hex').reverse(); // little-endian on the wire
    if (digits.length <= 0xff) {
      this.u8(tag.SMALL_BIG_EXT);
      this.u8(digits.length);
    } else {
      this.u8(tag.LARGE_BIG_EXT);
      this.#u32(digits.length, 'big integer size');
    }
    this.u8(big < 0n ? 1 : 0);
    this.#bytes(digits);
  }

  #atom(name: string): void {
    if (LONE_SURROGATE.test(name)) unencodable(`atom '${name}' holds a lone UTF-16 surrogate`);
    let characters = 0;
    let latin1 = true;
    for (const char of name) {
      characters++;
      if ((char.codePointAt(0) ?? 0) > 0xff) latin1 = false;
    }
    if (characters > tag.MAX_ATOM_CHARACTERS) unencodable(`atom of ${characters} characters (at most 255)`);
    if (this.minorVersion === 1 && latin1) {
      this.u8(tag.ATOM_EXT);
      this.#u16(name.length);
      return this.#bytes(Buffer.from(name, 'latin1'));
    }
    const bytes = Buffer.from(name, 'utf8');
    if (bytes.length <= 0xff) {
      this.u8(tag.SMALL_ATOM_UTF8_EXT);
      this.u8(bytes.length);
    } else {
      this.u8(tag.ATOM_UTF8_EXT);
      this.#u16(bytes.length);
    }
    this.#bytes(bytes);
  }

  #bitstring(term: BitstringTerm): void {
    if (term.data.length === 0 || !Number.isInteger(term.bits) || term.bits < 1 || term.bits > 8) {
      unencodable(`bitstring of ${term.data.length} bytes with ${term.bits} bits in its last byte`);
    }
    this.u8(tag.BIT_BINARY_EXT);
    this.#u32(term.data.length, 'bitstring size');
    this.u8(term.bits);
    const start = this.#length;
    this.#bytes(term.data);
    // Unused low bits are zero in what the VM writes.
    const last = start + term.data.length - 1;
    this.#buf[last] = (this.#buf[last] as number) & ((0xff << (8 - term.bits)) & 0xff);
  }

  #list(head: readonly Term[], headTail: Term | undefined): void {
    // Follow tails that are lists so that the wire carries one LIST_EXT, as the VM's would.
    let elements = head;
    let tail = headTail;
    while (tail?.type === 'list') {
      elements = [...elements, ...tail.elements];
      tail = tail.tail;
    }
    if (elements.length === 0) {
      if (tail === undefined) return this.u8(tag.NIL_EXT);
      return this.term(tail);
    }
    if (tail === undefined && elements.length <= tag.MAX_STRING_EXT_LENGTH && elements.every(isByte)) {
      this.u8(tag.STRING_EXT);
      this.#u16(elements.length);
      this.#ensure(elements.length);
      for (const element of elements)
        this.#buf[this.#length++] = Number((element as { value: number }).value);
      return;
    }
    this.u8(tag.LIST_EXT);
    this.#u32(elements.length, 'list length');
    for (const element of elements) this.term(element);
    if (tail === undefined) this.u8(tag.NIL_EXT);
    else this.term(tail);
  }

  #map(term: MapTerm): void {
    const sorted = [...term.entries].sort((a, b) => compareTerms(a[0], b[0]));
    for (let i = 1; i < sorted.length; i++) {
      if (compareTerms((sorted[i - 1] as [Term, Term])[0], (sorted[i] as [Term, Term])[0]) === 0) {
        unencodable('map has a repeated key');
      }
    }
    const entries = term.entries.length <= tag.MAX_FLATMAP_SIZE ? sorted : term.entries;
    this.u8(tag.MAP_EXT);
    this.#u32(entries.length, 'map size');
    for (const [key, value] of entries) {
      this.term(key);
      this.term(value);
    }
  }

  #pid(term: PidTerm): void {
    this.u8(tag.NEW_PID_EXT);
    this.#atom(term.node);
    this.#u32(term.id, 'pid id');
    this.#u32(term.serial, 'pid serial');
    this.#u32(term.creation, 'pid creation');
  }

  #fun(term: FunTerm): void {
    if (term.uniq.length !== 16) unencodable(`fun uniq of ${term.uniq.length} bytes (16 expected)`);
    if (!Number.isInteger(term.arity) || term.arity < 0 || term.arity > 255)
      unencodable(`fun arity ${term.arity}`);
    this.u8(tag.NEW_FUN_EXT);
    const sizeAt = this.#length;
    this.#u32(0, 'fun size'); // patched below: the size covers everything from here on
    this.u8(term.arity);
    this.#bytes(term.uniq);
    this.#u32(term.index, 'fun index');
    this.#u32(term.freeVars.length, 'fun free variable count');
    this.#atom(term.module);
    this.#integer(term.oldIndex);
    this.#integer(term.oldUniq);
    this.#pid(term.pid);
    for (const variable of term.freeVars) this.term(variable);
    this.#buf.writeUInt32BE(this.#length - sizeAt, sizeAt);
  }
}

function isByte(term: Term): boolean {
  return term.type === 'integer' && term.value >= 0 && term.value <= 0xff;
}
