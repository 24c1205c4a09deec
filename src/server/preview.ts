/** How many bytes of a message `--verbose` shows. */
const PREVIEW_BYTES = 64;

/**
 * A safe one-line view of a message for logs: the first bytes as a quoted string, every byte outside
 * printable ASCII escaped (`\n`, `\x00`, `\xff`), and how many bytes were left out. A message can never
 * break the log line or smuggle terminal escape sequences into it.
 */
export function previewBytes(message: Uint8Array, limit = PREVIEW_BYTES): string {
  const shown = message.subarray(0, limit);
  let text = '"';
  for (const byte of shown) text += escapeByte(byte);
  text += '"';
  const hidden = message.length - shown.length;
  return hidden > 0 ? `${text}… (+${hidden} bytes)` : text;
}

const NAMED_ESCAPES: Record<number, string> = {
  0x09: '\\t',
  0x0a: '\\n',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

function escapeByte(byte: number): string {
  const named = NAMED_ESCAPES[byte];
  if (named !== undefined) return named;
  if (byte >= 0x20 && byte < 0x7f) return String.fromCharCode(byte);
  return `\\x${byte.toString(16).padStart(2, '0')}`;
}
