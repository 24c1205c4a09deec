/**
 * Reads a `{packet, N}` length header (`headerSize` 1, 2 or 4) at `position`; the caller has checked that
 * the bytes are there. By hand because Buffer#readUIntBE is generic over 1 to 6 bytes and checks its arguments: in a
 * micro-benchmark one call cost as much as the rest of a frame's decoding.
 */
export function readHeader(chunk: Buffer, position: number, headerSize: number): number {
  if (headerSize === 4) {
    return (
      chunk[position]! * 0x1000000 +
      ((chunk[position + 1]! << 16) | (chunk[position + 2]! << 8) | chunk[position + 3]!)
    );
  }
  if (headerSize === 2) return (chunk[position]! << 8) | chunk[position + 1]!;
  return chunk[position]!;
}
