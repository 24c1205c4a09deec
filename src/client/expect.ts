import { isUtf8 } from 'node:buffer';
import { MismatchError } from '../errors.js';

// Long payloads are cut in messages: a one-line error must stay one line a person can read.
const MAX_SHOWN_CHARS = 60;

/**
 * Compares a reply with what was expected; returns undefined when they are equal byte for byte, otherwise a
 * MismatchError whose one-line message reads like a diff: both sides escaped and truncated, their lengths,
 * and the first byte where they differ.
 */
export function checkReply(
  index: number,
  expected: Buffer,
  got: Buffer,
  source: 'expect' | 'echo' | 'recording',
): MismatchError | undefined {
  if (expected.equals(got)) return undefined;
  const what =
    source === 'echo'
      ? `reply ${index} is not an echo of message ${index}`
      : source === 'recording'
        ? `reply ${index} differs from the recording`
        : `reply ${index} differs from --expect`;
  const at = firstDifference(expected, got);
  return new MismatchError(
    `${what}: expected ${showBytes(expected)} but got ${showBytes(got)} (first difference at byte ${at})`,
  );
}

/** The index of the first byte where `a` and `b` differ; the shorter one's length when one is a prefix. */
export function firstDifference(a: Buffer, b: Buffer): number {
  const shorter = Math.min(a.length, b.length);
  for (let i = 0; i < shorter; i++) if (a[i] !== b[i]) return i;
  return shorter;
}

/** `"text"` with escapes for control and invalid bytes, cut after 60 characters, and the byte count. */
export function showBytes(bytes: Buffer): string {
  const text = isUtf8(bytes) ? escapeText(bytes.toString('utf8')) : escapeBinary(bytes);
  return `"${cutShown(text)}" (${bytes.length} ${bytes.length === 1 ? 'byte' : 'bytes'})`;
}

/** `text` cut after 60 characters (not UTF-16 units) with `…`, so that a one-line diff stays readable. */
export function cutShown(text: string): string {
  const chars = [...text];
  return chars.length > MAX_SHOWN_CHARS ? `${chars.slice(0, MAX_SHOWN_CHARS).join('')}…` : text;
}

const ESCAPES: Record<string, string> = {
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
  '"': '\\"',
  '\\': '\\\\',
};

function escapeText(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    out += ESCAPES[char] ?? (code < 0x20 || code === 0x7f ? `\\x${hex(code)}` : char);
  }
  return out;
}

function escapeBinary(bytes: Buffer): string {
  let out = '';
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    out += ESCAPES[char] ?? (byte >= 0x20 && byte < 0x7f ? char : `\\x${hex(byte)}`);
  }
  return out;
}

function hex(code: number): string {
  return code.toString(16).padStart(2, '0');
}
