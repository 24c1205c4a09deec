// Characters that change what a terminal or a log viewer shows beyond themselves: C0 controls (newline,
// ESC), DEL, C1 controls (0x9b is a one-byte CSI on many terminals), the Unicode line and paragraph
// separators, and the bidirectional overrides that can make text read backwards (CVE-2021-42574).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * A peer's text made safe for a line of log or terminal output, or an environment variable: every control
 * or direction-changing character becomes a visible escape (`\n`, `\x1b`, `\u202e`), so a certificate
 * subject, a PROXY header's address or a handler's stderr line can neither end the line it is shown in,
 * forge another one, nor drive the terminal. Text without such characters comes back unchanged.
 */
export function escapeControls(text: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE, escapeOne);
}

const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r', '\\': '\\\\' };

/** One character as its visible escape: `\n`, `\\`, `\x1b`, `\u202e`. */
export function escapeOne(char: string): string {
  const named = NAMED[char];
  if (named !== undefined) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}
