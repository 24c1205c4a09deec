import { isUtf8 } from 'node:buffer';
import type { MessageFormat } from '../client/defaults.js';
import { decodeTerm, EtfError, formatTerm, termToJson, type JsonValue } from '../etf/index.js';
import type { Direction } from '../record/recording.js';
import { escapeOne } from '../escape.js';

/** How the proxy shows each frame on stdout. */
export type DisplayMode = 'text' | 'hex' | 'json';

export const DISPLAY_MODES: readonly DisplayMode[] = ['text', 'hex', 'json'];

const ARROWS: Record<Direction, string> = { c2s: 'client→server', s2c: 'server→client' };

/** How a frame reads with `--format etf`: one Erlang term, or why it is not one. */
type TermReading = { term: string; value: JsonValue } | { error: string };

function readTerm(data: Buffer): TermReading {
  try {
    const term = decodeTerm(data);
    return { term: formatTerm(term), value: termToJson(term) };
  } catch (error) {
    // A frame that is not ETF is shown, never dropped: it was relayed as it came either way.
    if (error instanceof EtfError) return { error: error.message };
    throw error;
  }
}

/**
 * One line per frame:
 * - text: `[#1] client→server 5 bytes: hello`, the payload as UTF-8 with control characters, backslashes
 *   and invalid bytes escaped (`\n`, `\x00`), so that one frame is always one line;
 * - hex: the same with the payload in hex;
 * - json: `{"conn":1,"dir":"c2s","t":12.345,"length":5,"text":"hello"}`, or `"base64"` instead of `"text"`
 *   when the payload is not valid UTF-8.
 *
 * With `format` `etf`, text and json show each frame as the Erlang term it encodes: `… 13 bytes: {ping,1}`,
 * and `"term":"{ping,1}","value":…` (the JSON mapping of src/etf/json.ts). A frame that is not one valid
 * term shows as hex with the reason: `… 3 bytes: 010203 (not an Erlang term: …)`, `"hex":…,"error":…`.
 */
export function formatFrame(
  mode: DisplayMode,
  conn: number,
  dir: Direction,
  t: number,
  data: Buffer,
  format: MessageFormat = 'text',
): string {
  if (format === 'etf' && mode !== 'hex') {
    const reading = readTerm(data);
    if (mode === 'json') {
      const shown =
        'term' in reading
          ? { term: reading.term, value: reading.value }
          : { hex: data.toString('hex'), error: reading.error };
      return `${JSON.stringify({ conn, dir, t: Math.round(t * 1000) / 1000, length: data.length, ...shown })}\n`;
    }
    return 'term' in reading
      ? `${prefix(conn, dir, data)}${reading.term}\n`
      : `${prefix(conn, dir, data)}${data.toString('hex')} (not an Erlang term: ${escapePayload(Buffer.from(reading.error))})\n`;
  }
  switch (mode) {
    case 'json': {
      const payload = isUtf8(data) ? { text: data.toString('utf8') } : { base64: data.toString('base64') };
      return `${JSON.stringify({ conn, dir, t: Math.round(t * 1000) / 1000, length: data.length, ...payload })}\n`;
    }
    case 'hex':
      return `${prefix(conn, dir, data)}${data.toString('hex')}\n`;
    case 'text':
      return `${prefix(conn, dir, data)}${escapePayload(data)}\n`;
  }
}

function prefix(conn: number, dir: Direction, data: Buffer): string {
  return `[#${conn}] ${ARROWS[dir]} ${data.length} ${data.length === 1 ? 'byte' : 'bytes'}: `;
}

// What escapeControls (src/escape.ts) escapes, and the backslash, so that every escape reads back one way.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_TEXT = /[\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
// A payload that is not UTF-8 is shown byte by byte: printable ASCII as it is, every other byte as \xHH.
// eslint-disable-next-line no-control-regex -- as above
const UNSAFE_BYTE = /[\\\u0000-\u001f\u007f-\u00ff]/g;

/**
 * The payload as one line of text: printable text as it is; controls (C0, DEL, C1, which terminals may obey),
 * line separators, direction overrides, backslashes and bytes that are not UTF-8 escaped. One regular
 * expression over the whole payload rather than a loop per character: the proxy shows every frame it relays.
 */
export function escapePayload(data: Buffer): string {
  return isUtf8(data)
    ? data.toString('utf8').replace(UNSAFE_TEXT, escapeOne)
    : data.toString('latin1').replace(UNSAFE_BYTE, escapeOne);
}
