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

/** A range that holds the true median with probability `coverage`. */
export interface MedianInterval {
  low: number;
  high: number;
  coverage: number;
}

/**
 * A distribution-free confidence interval for the median of `samples`: the k-th lowest to the k-th highest
 * sample, with the largest k whose coverage is at least `level`. Each sample falls below the true median
 * with probability 1/2, so the chance that fewer than k do is a binomial tail, on either side. With 9
 * samples at 95%: the 2nd lowest to the 2nd highest (96.1%). With too few samples for `level` (5 or fewer at
 * 95%): the whole range, with the coverage it has.
 */
export function medianInterval(samples: number[], level = 0.95): MedianInterval {
  const n = samples.length;
  if (n === 0) return { low: NaN, high: NaN, coverage: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const { rank: k, coverage } = medianRank(n, level);
  return { low: sorted[k - 1]!, high: sorted[n - k]!, coverage };
}

/** Which order statistic `medianInterval` takes for `n` samples (k: the k-th lowest to the k-th highest). */
export function medianRank(n: number, level = 0.95): { rank: number; coverage: number } {
  // below[j] = P(exactly j of n samples lie below the median) = C(n, j) / 2^n
  const below: number[] = [];
  let term = 0.5 ** n;
  for (let j = 0; j <= n; j++) {
    below.push(term);
    term = (term * (n - j)) / (j + 1);
  }
  let k = 1;
  let tail = below[0]!; // P(fewer than k below)
  let coverage = 1 - 2 * tail;
  while (k < n / 2) {
    const nextTail = tail + below[k]!;
    const nextCoverage = 1 - 2 * nextTail;
    if (nextCoverage < level) break;
    k += 1;
    tail = nextTail;
    coverage = nextCoverage;
  }
  return { rank: k, coverage };
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

/**
 * A ratio to two decimals, or three when two would round it up onto its target: "1.00 MISSED" reads as a
 * contradiction, "0.997 MISSED" does not.
 */
export function formatRatio(ratio: number, target?: number): string {
  if (!Number.isFinite(ratio)) return '–';
  const short = ratio.toFixed(2);
  return target !== undefined && ratio < target && Number(short) >= target ? ratio.toFixed(3) : short;
}
