import { describe, expect, test } from 'vitest';
import { formatRatio, medianInterval, medianRank, summarise } from '../../bench/stats.js';

describe('medianInterval', () => {
  test('9 samples at 95%: the 2nd lowest to the 2nd highest, covering 96.1%', () => {
    const interval = medianInterval([0.9, 1.3, 0.7, 1.0, 1.1, 0.95, 1.05, 0.85, 1.2]);
    expect(interval.low).toBe(0.85);
    expect(interval.high).toBe(1.2);
    expect(interval.coverage).toBeCloseTo(1 - (2 * (1 + 9)) / 512, 10);
  });

  test('more samples narrow it: 36 samples at 95%, the 12th lowest to the 12th highest', () => {
    const samples = Array.from({ length: 36 }, (_, i) => i + 1);
    const interval = medianInterval(samples);
    // P(Bin(36, 1/2) <= 11) = 0.0143, <= 12 = 0.0326: k = 12, so the 12th lowest to the 12th highest.
    expect(interval).toMatchObject({ low: 12, high: 25 });
    expect(interval.coverage).toBeGreaterThanOrEqual(0.95);
    expect(interval.coverage).toBeLessThan(0.98);
  });

  test('the interval always holds the median', () => {
    for (let n = 1; n <= 40; n++) {
      const samples = Array.from({ length: n }, (_, i) => Math.sin(i * 7.3));
      const { low, high } = medianInterval(samples);
      const { median } = summarise(samples);
      expect(low).toBeLessThanOrEqual(median);
      expect(high).toBeGreaterThanOrEqual(median);
    }
  });

  test('too few samples for the level: the whole range, with the coverage it really has', () => {
    expect(medianInterval([3, 1, 2, 5, 4])).toEqual({ low: 1, high: 5, coverage: 1 - 2 / 32 });
    expect(medianInterval([])).toMatchObject({ coverage: 0 });
  });
});

describe('medianRank', () => {
  test.each([
    // P(Bin(n, 1/2) < k) on each side stays within 2.5%.
    [5, 1],
    [6, 1],
    [9, 2],
    [15, 4],
    [25, 8],
    [36, 12],
  ])('%s samples: the interval runs from rank %s at each end', (n, rank) => {
    expect(medianRank(n).rank).toBe(rank);
    expect(medianInterval(Array.from({ length: n }, (_, i) => i + 1))).toMatchObject({
      low: rank,
      high: n + 1 - rank,
    });
  });
});

describe('formatRatio', () => {
  test.each([
    // Two decimals, unless they would round a miss up onto its target.
    [1.0649, 1, '1.06'],
    [0.9649, 1, '0.96'],
    [0.9974, 1, '0.997'],
    [0.9951, 1, '0.995'],
    [0.9949, 0.95, '0.99'],
    [0.9474, 0.95, '0.947'],
    [1, 1, '1.00'],
    [0.9974, undefined, '1.00'],
    [NaN, 1, '–'],
  ])('%s against %s reads %s', (ratio, target, text) => {
    expect(formatRatio(ratio, target)).toBe(text);
  });
});
