// Small helpers shared by the benchmarks: summaries over repeated runs and plain-text tables.

export interface Summary {
  min: number;
  median: number;
  max: number;
  samples: number[];
}

/** Min, median and max of repeated measurements (the median of an even count is the mean of the middle two). */
export function summarise(samples: number[]): Summary {
  if (samples.length === 0) return { min: NaN, median: NaN, max: NaN, samples: [] };
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]!, samples };
}

/** A left-aligned text table with a rule under the header. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

/** A Markdown table. */
export function formatMarkdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}
