import { inflateSync } from 'node:zlib';
import { compareTerms } from './compare.js';
import { EtfError } from './errors.js';
import { resolveLimits, type EtfLimits } from './limits.js';
import * as tag from './tags.js';
import { integer, type PidTerm, type Term } from './term.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

// The most bytes a 255-character UTF-8 atom can take.
const MAX_UTF8_ATOM_BYTES = tag.MAX_ATOM_CHARACTERS * 4;
// FLOAT_EXT: a float printed with "%.20e" into 31 bytes, padded with NULs.
const FLOAT_EXT_LENGTH = 31;
const FUN_UNIQ_LENGTH = 16;

/**
 * Decodes one Erlang term from External Term Format bytes (what `term_to_binary/1,2` produces), compressed or
 * not. The input must start with the version byte 131 and hold exactly one term: unlike `binary_to_term/1`,
 * trailing bytes are an error, since in a frame they mean the peer and we disagree about the format.
 *
 * Every length and count is checked against the bytes that remain before anything is allocated, and
 * `limits` bound nesting, element count, big integers and decompression. Any failure is an `EtfError`
 * (`ERR_ETF_INVALID`, `ERR_ETF_LIMIT` or `ERR_ETF_UNSUPPORTED`), never another exception.
 */
export function decodeTerm(input: Uint8Array, limits: Partial<EtfLimits> = {}): Term {
  const resolved = resolveLimits(limits);
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length === 0) {
    throw new EtfError('invalid Erlang term: no bytes (expected version byte 131)', 'ERR_ETF_INVALID', 0);
  }
  if (buf[0] !== tag.VERSION) {
    throw new EtfError(
      `invalid Erlang term: starts with byte ${buf[0]}, not the version byte 131`,
      'ERR_ETF_INVALID',
      0,
    );
  }
  if (buf[1] === tag.COMPRESSED) {
    return new TermReader(inflateTerm(buf, resolved), resolved, 0, ' of the decompressed term').readWhole();
  }
  return new TermReader(buf, resolved, 1, '').readWhole();
}

/** Tag 80: a 4-byte uncompressed size, then a zlib stream that must inflate to exactly that size. */
function inflateTerm(buf: Buffer, limits: EtfLimits): Buffer {
  const headerEnd = 6;
  if (buf.length < headerEnd) {
    throw new EtfError(
      `invalid Erlang term: compressed term ends inside its 4-byte size at byte ${buf.length}`,
      'ERR_ETF_INVALID',
      buf.length,
    );
  }
  const declared = buf.readUInt32BE(2);
  if (declared > limits.maxDecompressed) {
    throw new EtfError(
      `compressed Erlang term declares ${declared} bytes, above the ${limits.maxDecompressed}-byte limit (maxDecompressed) at byte 2`,
      'ERR_ETF_LIMIT',
      2,
      { limit: 'maxDecompressed' },
    );
  }
  let inflated: Buffer;
  try {
    // maxOutputLength makes zlib stop as soon as the output outgrows the declared size: a zip bomb costs
    // at most maxDecompressed bytes and the time to produce them.
    inflated = inflateSync(buf.subarray(headerEnd), { maxOutputLength: Math.max(declared, 1) });
  } catch (error) {
    const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new EtfError(
      tooLarge
        ? `invalid Erlang term: compressed term inflates to more than its declared ${declared} bytes at byte ${headerEnd}`
        : `invalid Erlang term: compressed data does not inflate (${(error as Error).message}) at byte ${headerEnd}`,
      'ERR_ETF_INVALID',
      headerEnd,
      { cause: error },
    );
  }
  if (inflated.length !== declared) {
    throw new EtfError(
      `invalid Erlang term: compressed term inflates to ${inflated.length} bytes, not the declared ${declared} at byte ${headerEnd}`,
      'ERR_ETF_INVALID',
      headerEnd,
    );
  }
  return inflated;
}

class TermReader {
  #pos: number;
  #elements = 0;

  constructor(
    readonly buf: Buffer,
    readonly limits: EtfLimits,
    start: number,
    // Appended to "at byte N" so that offsets inside a decompressed term are not mistaken for input offsets.
    readonly where: string,
  ) {
    this.#pos = start;
  }

  readWhole(): Term {
    const term = this.#term(1);
    const left = this.buf.length - this.#pos;
    if (left > 0) this.#invalid(`${left} unexpected bytes after the term`);
    return term;
  }

  #invalid(problem: string, at = this.#pos): never {
    throw new EtfError(`invalid Erlang term: ${problem} at byte ${at}${this.where}`, 'ERR_ETF_INVALID', at);
  }

  #limit(limit: keyof EtfLimits, problem: string, at = this.#pos): never {
    throw new EtfError(`Erlang term ${problem} at byte ${at}${this.where}`, 'ERR_ETF_LIMIT', at, { limit });
  }

  #need(n: number, what: string): void {
    const left = this.buf.length - this.#pos;
    if (n > left) this.#invalid(`${what} needs ${n} bytes but only ${left} remain`);
  }

  /** Refuses a container's declared count before decoding it: too many for the bytes left, or the budget. */
  #expect(count: number, bytesEach: number, what: string): void {
    const left = this.buf.length - this.#pos;
    if (count * bytesEach > left) {
      this.#invalid(`${what} declares ${count} elements but only ${left} bytes remain`);
    }
    if (this.#elements + count > this.limits.maxElements) {
      this.#limit('maxElements', `has more than ${this.limits.maxElements} elements (maxElements)`);
    }
  }

  #u8(): number {
    this.#need(1, 'a 1-byte field');
    return this.buf[this.#pos++] as number;
  }

  #u16(): number {
    this.#need(2, 'a 2-byte field');
    const value = this.buf.readUInt16BE(this.#pos);
    this.#pos += 2;
    return value;
  }

  #u32(): number {
    this.#need(4, 'a 4-byte field');
    const value = this.buf.readUInt32BE(this.#pos);
    this.#pos += 4;
    return value;
  }

  #bytes(n: number, what: string): Buffer {
    this.#need(n, what);
    const view = this.buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return view;
  }

  #term(depth: number): Term {
    if (depth > this.limits.maxDepth) {
      this.#limit('maxDepth', `nests deeper than ${this.limits.maxDepth} levels (maxDepth)`);
    }
    if (++this.#elements > this.limits.maxElements) {
      this.#limit('maxElements', `has more than ${this.limits.maxElements} elements (maxElements)`);
    }
    const at = this.#pos;
    const kind = this.#u8();
    switch (kind) {
      case tag.SMALL_INTEGER_EXT:
        return { type: 'integer', value: this.#u8() };
      case tag.INTEGER_EXT:
        this.#need(4, 'INTEGER_EXT');
        this.#pos += 4;
        return { type: 'integer', value: this.buf.readInt32BE(this.#pos - 4) };
      case tag.SMALL_BIG_EXT:
        return this.#big(this.#u8());
      case tag.LARGE_BIG_EXT:
        return this.#big(this.#u32());
      case tag.NEW_FLOAT_EXT:
        return this.#float(this.#bytes(8, 'NEW_FLOAT_EXT').readDoubleBE(0), at);
      case tag.FLOAT_EXT:
        return this.#oldFloat(at);
      case tag.ATOM_EXT:
      case tag.SMALL_ATOM_EXT:
      case tag.ATOM_UTF8_EXT:
      case tag.SMALL_ATOM_UTF8_EXT:
        return { type: 'atom', name: this.#atomBody(kind, at) };
      case tag.BINARY_EXT:
        return { type: 'binary', data: this.#bytes(this.#u32(), 'BINARY_EXT') };
      case tag.BIT_BINARY_EXT:
        return this.#bitBinary(at);
      case tag.NIL_EXT:
        return { type: 'list', elements: [] };
      case tag.STRING_EXT:
      case tag.LIST_EXT:
        return this.#list(kind, depth);
      case tag.SMALL_TUPLE_EXT:
        return this.#tuple(this.#u8(), depth);
      case tag.LARGE_TUPLE_EXT:
        return this.#tuple(this.#u32(), depth);
      case tag.MAP_EXT:
        return this.#map(depth, at);
      case tag.NEW_PID_EXT:
      case tag.PID_EXT:
        return this.#pid(kind);
      case tag.V4_PORT_EXT:
      case tag.NEW_PORT_EXT:
      case tag.PORT_EXT:
        return this.#port(kind);
      case tag.NEWER_REFERENCE_EXT:
      case tag.NEW_REFERENCE_EXT:
      case tag.REFERENCE_EXT:
        return this.#reference(kind, at);
      case tag.NEW_FUN_EXT:
        return this.#fun(depth, at);
      case tag.EXPORT_EXT:
        return this.#export(depth);
      case tag.ATOM_CACHE_REF:
      case tag.LOCAL_EXT:
      case tag.FUN_EXT:
        throw new EtfError(
          `unsupported Erlang term: tag ${kind} at byte ${at}${this.where} belongs to the distribution protocol or to releases before OTP 23`,
          'ERR_ETF_UNSUPPORTED',
          at,
        );
      default:
        return this.#invalid(`unknown tag ${kind}`, at);
    }
  }

  #big(n: number): Term {
    if (n > this.limits.maxBigIntegerBytes) {
      this.#limit(
        'maxBigIntegerBytes',
        `holds a ${n}-byte big integer, above the ${this.limits.maxBigIntegerBytes}-byte limit (maxBigIntegerBytes)`,
      );
    }
    const negative = this.#u8() !== 0;
    const digits = this.#bytes(n, 'a big integer');
    let hex = '';
    // Little-endian digits: read them from the most significant end.
    for (let i = digits.length - 1; i >= 0; i--) hex += (digits[i] as number).toString(16).padStart(2, '0');
    const magnitude = hex === '' ? 0n : BigInt(`0x${hex}`);
    return integer(negative ? -magnitude : magnitude);
  }

  #float(value: number, at: number): Term {
    // The VM never produces NaN or infinities and binary_to_term refuses them.
    if (!Number.isFinite(value)) this.#invalid('float is not finite', at);
    return { type: 'float', value };
  }

  #oldFloat(at: number): Term {
    const raw = this.#bytes(FLOAT_EXT_LENGTH, 'FLOAT_EXT').toString('latin1');
    const text = raw.replace(/\0+$/, '').trim();
    if (!/^[+-]?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text)) this.#invalid('FLOAT_EXT does not hold a number', at);
    return this.#float(Number(text), at);
  }

  #atomBody(kind: number, at: number): string {
    const small = kind === tag.SMALL_ATOM_EXT || kind === tag.SMALL_ATOM_UTF8_EXT;
    const length = small ? this.#u8() : this.#u16();
    if (kind === tag.ATOM_EXT || kind === tag.SMALL_ATOM_EXT) {
      if (length > tag.MAX_ATOM_CHARACTERS) this.#invalid(`atom of ${length} characters (at most 255)`, at);
      return this.#bytes(length, 'an atom').toString('latin1');
    }
    if (length > MAX_UTF8_ATOM_BYTES) this.#invalid(`atom of ${length} bytes (at most 255 characters)`, at);
    const bytes = this.#bytes(length, 'an atom');
    let name: string;
    try {
      name = utf8.decode(bytes);
    } catch {
      return this.#invalid('atom is not valid UTF-8', at);
    }
    if (length > tag.MAX_ATOM_CHARACTERS && countCodePoints(name) > tag.MAX_ATOM_CHARACTERS) {
      this.#invalid('atom of more than 255 characters', at);
    }
    return name;
  }

  /** An atom where the format requires one: the node of a pid, the module of a fun. */
  #atom(what: string): string {
    const at = this.#pos;
    const kind = this.#u8();
    if (
      kind !== tag.ATOM_EXT &&
      kind !== tag.SMALL_ATOM_EXT &&
      kind !== tag.ATOM_UTF8_EXT &&
      kind !== tag.SMALL_ATOM_UTF8_EXT
    ) {
      this.#invalid(`${what} is tag ${kind}, not an atom`, at);
    }
    return this.#atomBody(kind, at);
  }

  #bitBinary(at: number): Term {
    const length = this.#u32();
    const bits = this.#u8();
    const data = this.#bytes(length, 'BIT_BINARY_EXT');
    // As binary_to_term: an empty bitstring has 0 bits; otherwise the last byte holds 1 to 8.
    if (length === 0 ? bits !== 0 : bits < 1 || bits > 8) {
      this.#invalid(`BIT_BINARY_EXT of ${length} bytes with ${bits} bits in its last byte`, at);
    }
    if (length === 0 || bits === 8) return { type: 'binary', data };
    const last = data[length - 1] as number;
    const masked = last & ((0xff << (8 - bits)) & 0xff);
    if (masked === last) return { type: 'bitstring', data, bits };
    // The VM ignores the unused low bits; clear them so that equal bitstrings have equal bytes.
    const copy = Buffer.from(data);
    copy[length - 1] = masked;
    return { type: 'bitstring', data: copy, bits };
  }

  /**
   * LIST_EXT and STRING_EXT. A tail that is itself a list is appended here in a loop, as the VM does,
   * so `[1 | [2]]` sent as two cells decodes to `[1, 2]` without recursing once per cell.
   */
  #list(firstKind: number, depth: number): Term {
    const elements: Term[] = [];
    let kind = firstKind;
    for (;;) {
      if (kind === tag.STRING_EXT) {
        const length = this.#u16();
        this.#expect(length, 1, 'STRING_EXT');
        this.#elements += length;
        for (const byte of this.#bytes(length, 'STRING_EXT')) elements.push({ type: 'integer', value: byte });
        return { type: 'list', elements };
      }
      const count = this.#u32();
      this.#expect(count, 1, 'LIST_EXT');
      for (let i = 0; i < count; i++) elements.push(this.#term(depth + 1));
      this.#need(1, 'the tail of a list');
      const next = this.buf[this.#pos] as number;
      if (next === tag.NIL_EXT) {
        this.#pos++;
        return { type: 'list', elements };
      }
      if (next === tag.LIST_EXT || next === tag.STRING_EXT) {
        this.#pos++;
        kind = next;
        continue;
      }
      const tail = this.#term(depth + 1);
      // `[ | T]` (a LIST_EXT of no elements) is just T.
      return elements.length === 0 ? tail : { type: 'list', elements, tail };
    }
  }

  #tuple(arity: number, depth: number): Term {
    this.#expect(arity, 1, 'tuple');
    const elements: Term[] = [];
    for (let i = 0; i < arity; i++) elements.push(this.#term(depth + 1));
    return { type: 'tuple', elements };
  }

  #map(depth: number, at: number): Term {
    const arity = this.#u32();
    this.#expect(arity, 2, 'map');
    const entries: [Term, Term][] = [];
    for (let i = 0; i < arity; i++) entries.push([this.#term(depth + 1), this.#term(depth + 1)]);
    // binary_to_term refuses a map with a repeated key; so do we, or one key would hide another's value.
    if (arity > 1) {
      const keys = entries.map((entry) => entry[0]).sort(compareTerms);
      for (let i = 1; i < keys.length; i++) {
        if (compareTerms(keys[i - 1] as Term, keys[i] as Term) === 0)
          this.#invalid('map has a repeated key', at);
      }
    }
    return { type: 'map', entries };
  }

  #pid(kind: number): PidTerm {
    const node = this.#atom('the node of a pid');
    const id = this.#u32();
    const serial = this.#u32();
    const creation = kind === tag.NEW_PID_EXT ? this.#u32() : this.#u8();
    return { type: 'pid', node, id, serial, creation };
  }

  #port(kind: number): Term {
    const node = this.#atom('the node of a port');
    let id: bigint;
    if (kind === tag.V4_PORT_EXT) {
      this.#need(8, 'V4_PORT_EXT');
      id = this.buf.readBigUInt64BE(this.#pos);
      this.#pos += 8;
    } else {
      id = BigInt(this.#u32());
    }
    const creation = kind === tag.PORT_EXT ? this.#u8() : this.#u32();
    return { type: 'port', node, id, creation };
  }

  #reference(kind: number, at: number): Term {
    if (kind === tag.REFERENCE_EXT) {
      const node = this.#atom('the node of a reference');
      const id = this.#u32();
      return { type: 'reference', node, ids: [id], creation: this.#u8() };
    }
    const length = this.#u16();
    if (length < 1 || length > tag.MAX_REFERENCE_WORDS) this.#invalid(`reference of ${length} words`, at);
    const node = this.#atom('the node of a reference');
    const creation = kind === tag.NEWER_REFERENCE_EXT ? this.#u32() : this.#u8();
    const ids: number[] = [];
    for (let i = 0; i < length; i++) ids.push(this.#u32());
    return { type: 'reference', node, creation, ids };
  }

  #smallNumber(what: string, max: number, depth: number): number {
    const at = this.#pos;
    const term = this.#term(depth);
    if (term.type !== 'integer' || typeof term.value !== 'number' || term.value < 0 || term.value > max) {
      return this.#invalid(`${what} is not an integer from 0 to ${max}`, at);
    }
    return term.value;
  }

  #fun(depth: number, at: number): Term {
    const start = this.#pos;
    const size = this.#u32();
    const arity = this.#u8();
    const uniq = this.#bytes(FUN_UNIQ_LENGTH, 'the uniq of a fun');
    const index = this.#u32();
    const freeCount = this.#u32();
    const module = this.#atom('the module of a fun');
    const oldIndex = this.#smallNumber('the old index of a fun', 0xffff_ffff, depth + 1);
    const oldUniq = this.#smallNumber('the old uniq of a fun', 0xffff_ffff, depth + 1);
    const pidAt = this.#pos;
    const pid = this.#term(depth + 1);
    if (pid.type !== 'pid') this.#invalid('the pid of a fun is not a pid', pidAt);
    this.#expect(freeCount, 1, 'fun');
    const freeVars: Term[] = [];
    for (let i = 0; i < freeCount; i++) freeVars.push(this.#term(depth + 1));
    if (this.#pos - start !== size)
      this.#invalid(`fun declares ${size} bytes but takes ${this.#pos - start}`, at);
    return { type: 'fun', module, arity, uniq, index, oldIndex, oldUniq, pid, freeVars };
  }

  #export(depth: number): Term {
    const module = this.#atom('the module of an external fun');
    const fn = this.#atom('the function of an external fun');
    const arity = this.#smallNumber('the arity of an external fun', 255, depth + 1);
    return { type: 'export', module, function: fn, arity };
  }
}

function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
