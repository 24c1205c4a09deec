import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { readReadme } from './helpers/documented.js';

// The README's performance table is copied by hand from the committed suite run: it must give that run's
// figures, row by row, so a new bench/results/latest.md cannot land beside an old README.

const latest = () => readFile(new URL('../../bench/results/latest.md', import.meta.url), 'utf8');

/** The rows of the first Markdown table after `heading`, as cells, without its header and rule. */
function tableAfter(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(heading);
  expect(start, `${heading} not found`).toBeGreaterThanOrEqual(0);
  const lines = markdown.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  // Without these, a README and a latest.md that both lost their table would agree on zero rows.
  expect(first, `no table after ${heading}`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
  }
  expect(rows.length, `the table after ${heading} has no rows`).toBeGreaterThan(0);
  return rows;
}

test('the README performance table gives the figures of bench/results/latest.md', async () => {
  const documented = tableAfter(readReadme(), '## Performance');
  const measured = tableAfter(await latest(), '# tlsecho vs. a raw TLS pipe');
  expect(documented).toHaveLength(measured.length);
  documented.forEach((row, index) => {
    // latest.md: workload, unit, tlsecho, baseline, ratio, interval, rounds, target, verdict.
    // README: workload (unit), tlsecho, pipe, ratio, interval, rounds, "target: verdict".
    const [, , tlsecho, baseline, ratio, interval, rounds, , verdict] = measured[index]!;
    const isMemory = row[0]!.startsWith('server RSS');
    // The workload rides along on both sides so that a failure's diff names the row.
    expect({ workload: row[0], tlsecho: row[1], pipe: row[2] }).toEqual({
      workload: row[0],
      tlsecho,
      pipe: baseline,
    });
    if (!isMemory) expect(row.slice(3, 6)).toEqual([ratio, interval, rounds]);
    expect(row[6]!.endsWith(`: ${verdict!.toLowerCase()}`), `${row[0]}: ${row[6]} vs ${verdict}`).toBe(true);
  });
});

const relay = () => readFile(new URL('../../bench/results/relay.md', import.meta.url), 'utf8');

test("the README's relay table gives the figures of bench/results/relay.md", async () => {
  const documented = tableAfter(readReadme(), '### Relay');
  const markdown = await relay();
  const measured = tableAfter(markdown, '# tlsecho proxy vs. a raw TLS relay');
  const cpu = tableAfter(markdown, 'Relay CPU time');
  expect(documented).toHaveLength(measured.length);
  documented.forEach((row, index) => {
    // relay.md: workload, unit, tlsecho, baseline, ratio, interval, rounds, target, verdict; then the CPU
    // table: workload, per, tlsecho µs, baseline µs, ratio, interval, rounds.
    // README: workload (unit), proxy, relay, ratio, interval, rounds, CPU ratio, CPU interval, "target: verdict".
    const [title, unit, tlsecho, baseline, ratio, interval, rounds, , verdict] = measured[index]!;
    const [, , , , cpuRatio, cpuInterval] = cpu[index]!;
    expect(row.slice(0, 8)).toEqual([
      `${title!.replace(/^relay: /, '')} (${unit})`,
      tlsecho,
      baseline,
      ratio,
      interval,
      rounds,
      cpuRatio,
      cpuInterval,
    ]);
    expect(row[8]!.endsWith(`: ${verdict!.toLowerCase()}`), `${row[0]}: ${row[8]} vs ${verdict}`).toBe(true);
  });
});
