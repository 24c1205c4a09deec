import { checkReply, cutShown, firstDifference, showBytes } from '../client/expect.js';
import type { MessageFormat } from '../client/defaults.js';
import { termReplyToJson, type TermReplyJson } from '../client/term-messages.js';
import { decodeTerm, EtfError, formatTerm, termsEqual, type Term } from '../etf/index.js';
import { escapeControls } from '../escape.js';

/** One reply that differs from the recording, as `replay --json --format etf` reports it beside the line. */
export interface ReplyDifference {
  reply: number;
  /** Each side as its Erlang term (`term`, `value`), or as hex with the reason it is not one (`error`). */
  expected: TermReplyJson;
  got: TermReplyJson;
}

/** How one reply compares with the recorded one. */
export type ReplyCheck =
  | { match: true; /** equal only as terms: the bytes differ */ asTerm: boolean }
  | { match: false; line: string; difference?: ReplyDifference };

/**
 * Compares reply `index` with the recorded one. With `text` the two must be equal byte for byte. With `etf`
 * a reply also matches when both sides decode to equal Erlang terms (`=:=`): a server on a newer OTP may
 * encode the same term differently (ATOM_EXT or SMALL_ATOM_UTF8_EXT, compressed or not, a small integer as
 * SMALL_BIG_EXT), which is the same reply to any Erlang peer. When either side is not one valid term, the
 * two are compared byte for byte, as with `text`; a differing line then names the reason.
 */
export function checkRecordedReply(
  index: number,
  expected: Buffer,
  got: Buffer,
  format: MessageFormat,
): ReplyCheck {
  if (format === 'text') {
    const mismatch = checkReply(index, expected, got, 'recording');
    return mismatch ? { match: false, line: mismatch.message } : { match: true, asTerm: false };
  }
  if (expected.equals(got)) return { match: true, asTerm: false };
  const want = readTerm(expected);
  const have = readTerm(got);
  if ('term' in want && 'term' in have && termsEqual(want.term, have.term))
    return { match: true, asTerm: true };
  const both = 'error' in want && 'error' in have;
  // Where both sides are bytes, the first differing byte is what a person looks for next, as without etf.
  const at = both ? ` (first difference at byte ${firstDifference(expected, got)})` : '';
  return {
    match: false,
    line: `reply ${index} differs from the recording: expected ${show(expected, want)} but got ${show(got, have)}${at}`,
    difference: { reply: index, expected: termReplyToJson(expected), got: termReplyToJson(got) },
  };
}

type Reading = { term: Term } | { error: EtfError };

function readTerm(frame: Buffer): Reading {
  try {
    return { term: decodeTerm(frame) };
  } catch (error) {
    // A frame that is not ETF is compared as bytes, never refused: replay checks what the server said.
    if (error instanceof EtfError) return { error };
    throw error;
  }
}

/** `{pong,1}` for a term; `"hello" (5 bytes, not an Erlang term: …)` for a frame that is not one. */
function show(frame: Buffer, reading: Reading): string {
  if ('term' in reading) return cutShown(escapeControls(formatTerm(reading.term)));
  const reason = escapeControls(reading.error.message.replace(/^invalid Erlang term: /, ''));
  return showBytes(frame).replace(/\)$/, `, not an Erlang term: ${reason})`);
}
