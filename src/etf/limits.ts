import { UsageError } from '../errors.js';

/** Bounds that keep decoding an untrusted term cheap; exceeding one raises `EtfError` `ERR_ETF_LIMIT`. */
export interface EtfLimits {
  /** Deepest nesting of tuples, lists, maps and funs. Guards the call stack. */
  maxDepth: number;
  /** Most terms in one decoded value, counting every element of every container (and every string character). */
  maxElements: number;
  /** Largest uncompressed size a compressed term (tag 80) may declare and inflate to, in bytes. */
  maxDecompressed: number;
  /** Largest big integer, in bytes of magnitude. Printing a big integer costs quadratic time in its size. */
  maxBigIntegerBytes: number;
}

export const DEFAULT_ETF_LIMITS: Readonly<EtfLimits> = Object.freeze({
  // Far deeper than any record or JSON-like document people send, and far shallower than the stack allows.
  maxDepth: 256,
  // About 100 MB of term objects at worst; a 1 MiB STRING_EXT alone is a million terms.
  maxElements: 1_000_000,
  // 64 MiB: eight times the default 8 MiB frame limit, so honest compressed terms fit; a zip bomb
  // (zlib reaches about 1000:1) stops there.
  maxDecompressed: 64 * 1024 * 1024,
  // 64 KiB of magnitude is a 157,826-digit number that still prints in tens of milliseconds.
  maxBigIntegerBytes: 64 * 1024,
});

/** Fills in defaults; rejects limits that are not positive whole numbers. */
export function resolveLimits(limits: Partial<EtfLimits> = {}): EtfLimits {
  const resolved = { ...DEFAULT_ETF_LIMITS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new UsageError(
        `invalid Erlang term limit ${name}: ${String(value)} is not a positive whole number`,
      );
    }
  }
  return resolved;
}
