import type { FramedClient } from './framed-client.js';

// The most common mistake is a framing mismatch: a {packet, 4} server given lines of text, or a {packet, 2}
// client talking to a {packet, 4} server. Neither side can say so on the wire; each just waits for the rest
// of a frame that never comes, or refuses a length that makes no sense. When replies go missing, these say
// which flag to check.

/**
 * A hint for an exchange that ended (timeout or close) with replies missing, or undefined when the framing
 * is an unlikely cause (some replies did arrive whole and nothing is left half-read).
 */
export function framingHint(client: FramedClient | undefined, received: number): string | undefined {
  if (client === undefined) return undefined;
  const packet = `--packet ${client.framing.mode}`;
  const pending = client.unframedBytes;
  if (pending > 0) {
    return `${pending} byte${pending === 1 ? '' : 's'} arrived that do not make a whole frame under ${packet}: does the server use the same --packet?`;
  }
  if (received === 0) {
    return `no reply at all: if the server frames messages differently (e.g. Erlang {packet, 4}, or lines), match it with --packet (this run: ${packet})`;
  }
  return undefined;
}
