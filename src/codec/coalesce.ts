// The smallest buffer a growing tail starts with: a trickle of 1-byte pieces must not begin by doubling
// from a few bytes.
const MIN_TAIL_CAPACITY = 256;

// The merged pieces this module made over buffers it owns, whose room past the view's end it may still fill.
// Weak, so noting one here never keeps a consumed piece's memory alive.
const growable = new WeakSet<Buffer>();

/**
 * Appends `piece` to `pieces`, keeping the list to at most `cap` entries: past it, the newest half of the
 * list is merged into one entry, a view of a buffer this module owns that grows geometrically (doubling when
 * full). The next time, the newest half begins with that entry, and the pieces after it are copied into its
 * room. A byte is then copied once when merged and, amortised, at most once more by the doublings, so a
 * peer trickling one byte per TLS record costs copying linear in what it sent. (Merging runs of the newest
 * pieces by size, as this replaced, left the list a staircase of sizes, then copied the growing newest piece
 * once per byte: quadratic, 160 MB of copying for a 20 KB frame.) The buffer holds at most twice the bytes
 * that arrived, never a declared length (codec rule 5).
 *
 * Pieces older than the newest half are never touched, and views handed out stay valid: bytes before the
 * current end of a merged piece are never written again. Used wherever a list of received pieces is capped:
 * the decoder's ChunkQueue and the server's echo path.
 */
export function appendCapped(pieces: Buffer[], piece: Buffer, cap: number): void {
  pieces.push(piece);
  const count = pieces.length;
  if (count <= cap) return;
  const start = Math.min(count - 2, cap - (cap >> 1));
  const first = pieces[start]!;
  let size = 0;
  for (let i = start; i < count; i++) size += pieces[i]!.length;
  let merged: Buffer;
  if (growable.has(first) && size <= first.buffer.byteLength - first.byteOffset) {
    // Room left after the merged piece: fill it, and widen the view.
    merged = Buffer.from(first.buffer, first.byteOffset, size);
  } else {
    merged = Buffer.allocUnsafeSlow(Math.max(MIN_TAIL_CAPACITY, 2 * size)).subarray(0, size);
    first.copy(merged, 0);
  }
  let offset = first.length;
  for (let i = start + 1; i < count; i++) {
    const next = pieces[i]!;
    next.copy(merged, offset);
    offset += next.length;
  }
  growable.add(merged);
  pieces.length = start;
  pieces.push(merged);
}
