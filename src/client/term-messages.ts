import { isUtf8 } from 'node:buffer';
import {
  decodeTerm,
  encodeTerm,
  EtfError,
  formatTerm,
  parseTerm,
  termsEqual,
  termToJson,
  type JsonValue,
  type Term,
} from '../etf/index.js';
import { MismatchError, UsageError } from '../errors.js';
import type { PacketMode } from '../codec/limits.js';
import { createFrameFormatter, type FrameFormatter, type OutputMode } from './output.js';

// `--format etf`: messages are written in Erlang term syntax and travel as External Term Format, the bytes
// `term_to_binary/1` writes and `binary_to_term/1` reads (see src/etf/README.md).

import { MESSAGE_FORMATS, type MessageFormat } from './defaults.js';

export { MESSAGE_FORMATS, type MessageFormat };

// Messages quoted in errors are cut here: the error must stay one readable line.
const MAX_QUOTED_CHARS = 60;

/** `"{ping,"`, cut after 60 characters, for one-line errors. */
function quote(text: string): string {
  const chars = [...text];
  return JSON.stringify(
    chars.length > MAX_QUOTED_CHARS ? `${chars.slice(0, MAX_QUOTED_CHARS).join('')}…` : text,
  );
}

/**
 * Parses one outgoing message written in Erlang term syntax. `label` names it in the error, e.g. `message 2`
 * or `message 3 of stdin`. A message that is not a term is a one-line UsageError.
 */
export function parseTermMessage(message: Buffer | string, label: string): Term {
  if (typeof message !== 'string' && !isUtf8(message)) {
    throw new UsageError(`${label} is not UTF-8 text, so it cannot be read as an Erlang term`);
  }
  return parseTermArgument(typeof message === 'string' ? message : message.toString('utf8'), label);
}

/** parseTermMessage, then the term's External Term Format bytes. */
export function encodeTermMessage(message: Buffer | string, label: string): Buffer {
  return encodeTerm(parseTermMessage(message, label));
}

/** Parses Erlang term text given by the user (a message, an `--expect`), naming it in the error. */
export function parseTermArgument(text: string, label: string): Term {
  try {
    return parseTerm(text);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const problem = error.message.replace(/^invalid Erlang term /, '');
    throw new UsageError(`${label} ${quote(text)} is not a valid Erlang term: ${problem}`, {
      hint: 'write terms as in Erlang: {ping, 1}, <<"bytes">>, [1, 2], #{key => value}, \'Quoted atom\'',
      cause: error,
    });
  }
}

/** Decodes a reply, or says why it is not one Erlang term. Never throws for bad bytes. */
function decodeReply(frame: Buffer): { term: Term } | { error: EtfError } {
  try {
    return { term: decodeTerm(frame) };
  } catch (error) {
    if (error instanceof EtfError) return { error };
    throw error;
  }
}

/** The stderr warning for a reply that is not ETF: `reply 3 is not an Erlang term (…): shown as hex`. */
function undecodableWarning(index: number, error: EtfError): string {
  return `reply ${index} is not an Erlang term (${error.message}): shown as hex`;
}

/**
 * Prints replies as Erlang terms: `text` output writes each in Erlang syntax on one line (as `~0tp`), `json`
 * output writes each as the JSON mapping of src/etf/json.ts. A frame that is not one valid term is never
 * dropped: it is printed as hex (`{"$hex": "…"}` in JSON) and `warn` gets one line saying so.
 */
function createTermFormatter(output: 'text' | 'json', warn: (message: string) => void): FrameFormatter {
  let index = 0;
  return (frame) => {
    index += 1;
    const decoded = decodeReply(frame);
    if ('error' in decoded) {
      warn(undecodableWarning(index, decoded.error));
      const hex = frame.toString('hex');
      return Buffer.from(`${output === 'json' ? JSON.stringify({ $hex: hex }) : hex}\n`);
    }
    const line = output === 'json' ? JSON.stringify(termToJson(decoded.term)) : formatTerm(decoded.term);
    return Buffer.from(`${line}\n`);
  };
}

/**
 * How replies are printed for a format and `--output`: with `etf`, `text` and `json` show decoded terms;
 * `hex`, `base64` and `raw` show the frames' bytes in either format.
 */
export function createReplyFormatter(
  format: MessageFormat,
  output: OutputMode,
  packet: PacketMode,
  warn: (message: string) => void,
): FrameFormatter {
  if (format === 'etf' && (output === 'text' || output === 'json')) return createTermFormatter(output, warn);
  return createFrameFormatter(output, packet);
}

// Term text is longer than its encoding for binaries written as numbers (`<<255,255>>` is 11 characters for
// 2 bytes) and shorter for small atoms, so the input limit on one message's text is a multiple of the frame
// limit; the encoded term is checked against the frame limit itself before it is sent.
const TEXT_PER_FRAME_BYTE = 8;
const MIN_TEXT_LIMIT = 64 * 1024;

/** The longest message text read as one term, for a frame limit. */
export function termTextLimit(maxFrame: number): number {
  return Math.max(maxFrame * TEXT_PER_FRAME_BYTE, MIN_TEXT_LIMIT);
}

/** A reply as `send --json --format etf` reports it. */
export type TermReplyJson =
  { length: number; term: string; value: JsonValue } | { length: number; hex: string; error: string };

export function termReplyToJson(frame: Buffer): TermReplyJson {
  const decoded = decodeReply(frame);
  if ('error' in decoded)
    return { length: frame.length, hex: frame.toString('hex'), error: decoded.error.message };
  return { length: frame.length, term: formatTerm(decoded.term), value: termToJson(decoded.term) };
}

/**
 * `--expect` and `--expect-echo` for terms: equal when the decoded reply is exactly the expected term
 * (`=:=`, so `1` and `1.0` differ), whatever encoding each side chose.
 */
export function checkTermReply(
  index: number,
  expected: Term,
  got: Buffer,
  source: 'expect' | 'echo',
): MismatchError | undefined {
  const decoded = decodeReply(got);
  if ('term' in decoded && termsEqual(decoded.term, expected)) return undefined;
  const what =
    source === 'echo'
      ? `reply ${index} is not an echo of message ${index}`
      : `reply ${index} differs from --expect`;
  const shown =
    'term' in decoded ? quote(formatTerm(decoded.term)) : `${got.length} bytes that are not an Erlang term`;
  return new MismatchError(`${what}: expected ${quote(formatTerm(expected))} but got ${shown}`);
}
