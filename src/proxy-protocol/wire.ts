// The PROXY protocol's wire format, after HAProxy's specification (section numbers refer to it):
// https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt
// Shared by the parser (parse.ts) and the encoders (encode.ts).

/** The 12-byte version 2 signature; its NUL and bare CR/LF make it invalid in any text protocol (section 2.2). */
export const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
/** Signature, version/command, family/transport, 16-bit length. */
export const V2_FIXED_LENGTH = 16;
export const V2_VERSION = 0x2;
export const V2_COMMAND_LOCAL = 0x0;
export const V2_COMMAND_PROXY = 0x1;
/** Address block sizes for each family (section 2.2): two addresses, then two ports for IP families. */
export const V2_ADDRESS_LENGTH = { IPv4: 12, IPv6: 36, unix: 216 } as const;

/** Header text for error messages and logs: short, and free of control characters. */
export function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}
