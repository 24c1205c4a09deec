import { isUtf8 } from 'node:buffer';
import type { Direction } from './recording.js';

/** How the proxy shows each frame on stdout. */
export type DisplayMode = 'text' | 'hex' | 'json';

export const DISPLAY_MODES: readonly DisplayMode[] = ['text', 'hex', 'json'];

const ARROWS: Record<Direction, string> = { c2s: 'client→server', s2c: 'server→client' };

/**
 * One line per frame:
 * - text: `[#1] client→server 5 bytes: hello`, the payload as UTF-8 with control characters, backslashes
 *   and invalid bytes escaped (`\n`, `\x00`), so that one frame is always one line;
 * - hex: the same with the payload in hex;
 * - json: `{"conn":1,"dir":"c2s","t":12.345,"length":5,"text":"hello"}`, or `"base64"` instead of `"text"`
 *   when the payload is not valid UTF-8.
 */
export function formatFrame(
  mode: DisplayMode,
  conn: number,
  dir: Direction,
  t: number,
  data: Buffer,
): string {
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

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

/** The payload as one line of text: printable text as it is, everything else escaped. */
export function escapePayload(data: Buffer): string {
  let out = '';
  if (isUtf8(data)) {
    for (const char of data.toString('utf8')) {
      const code = char.codePointAt(0)!;
      out += ESCAPES[char] ?? (code < 0x20 || code === 0x7f ? `\\x${hex(code)}` : char);
    }
    return out;
  }
  for (const byte of data) {
    const char = String.fromCharCode(byte);
    out += ESCAPES[char] ?? (byte >= 0x20 && byte < 0x7f ? char : `\\x${hex(byte)}`);
  }
  return out;
}

function hex(code: number): string {
  return code.toString(16).padStart(2, '0');
}
