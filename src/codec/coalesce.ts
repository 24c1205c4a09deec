/**
 * Merges a run of the newest pieces whose sizes are each no larger than the run after them into one buffer,
 * like carries in a binary counter: a byte is only copied again into a run at least twice as large, so a
 * trickle of tiny pieces costs O(n log n) copying, never O(n²). At least the two newest pieces are merged.
 *
 * The first `keep` pieces are never merged (ChunkQueue keeps its head, which may be partly consumed), so
 * `pieces` must hold at least `keep + 2` of them. Used wherever a list of received pieces is capped: the
 * decoder's ChunkQueue and the server's echo path.
 */
export function mergeNewest(pieces: Buffer[], keep = 0): void {
  let start = pieces.length - 1;
  let size = pieces[start]!.length;
  while (start > keep && pieces[start - 1]!.length <= size) {
    start -= 1;
    size += pieces[start]!.length;
  }
  if (start === pieces.length - 1) {
    start -= 1;
    size += pieces[start]!.length;
  }
  pieces.splice(start, pieces.length - start, Buffer.concat(pieces.slice(start), size));
}
