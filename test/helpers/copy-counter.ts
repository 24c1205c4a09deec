/**
 * Runs `work` counting the bytes copied between buffers (Buffer.concat and Buffer#copy, the two ways the
 * codec and the echo path copy) and returns the total. Past `budget` it throws at once, so code that copies
 * quadratically fails in milliseconds instead of copying gigabytes first. Plain wrappers rather than vi.spyOn,
 * which would record each of a million calls.
 */
export function countBytesCopied(budget: number, work: () => void): number {
  let copied = 0;
  const charge = (bytes: number): void => {
    copied += bytes;
    if (copied > budget) throw new Error(`copied more than ${budget} bytes (${copied} so far)`);
  };
  const { concat } = Buffer;
  const { copy } = Buffer.prototype;
  Buffer.concat = (list, totalLength) => {
    const result = concat.call(Buffer, list, totalLength);
    charge(result.length);
    return result;
  };
  Buffer.prototype.copy = function (this: Buffer, ...args: Parameters<Buffer['copy']>): number {
    const bytes = copy.apply(this, args);
    charge(bytes);
    return bytes;
  };
  try {
    work();
  } finally {
    Buffer.concat = concat;
    Buffer.prototype.copy = copy;
  }
  return copied;
}
