// Result rows: the samples of every round, paired by round, summarised into one row per workload.
import { medianInterval, summarise, type MedianInterval, type Summary } from '../stats.js';
import type { Outcome } from './run-workload.js';
import { IDLE_ID, IDLE_TARGET_BYTES, WORKLOADS, type Workload } from './workloads.js';

export interface Side {
  samples: number[];
  summary: Summary;
  /** Server CPU time (user + system) per message or handshake, in microseconds, for each sample. */
  cpuSamples: number[];
  cpu: Summary;
  failures: string[];
}

/** An outcome, or why the run failed, with the round it belongs to (so rounds pair up despite failures). */
export type Sample = { round: number; outcome: Outcome | string };

export interface Row {
  id: string;
  title: string;
  unit: string;
  tlsecho: Side;
  baseline: Side;
  /**
   * The median over rounds of tlsecho / baseline, each measured back to back within its round. Paired: a
   * shared machine's speed drifts over seconds, and a ratio of the two sides' medians would compare rounds
   * taken at different speeds. For memory the target checks tlsecho's KiB per connection instead.
   */
  ratio: number;
  /** The per-round ratios: their spread is how far the machine's noise moves the ratio itself. */
  roundRatios: Summary;
  /** Where the true median ratio lies, at 95% confidence, from the per-round ratios (see medianInterval). */
  ratioInterval: MedianInterval;
  /** Server CPU per operation, tlsecho / baseline, paired by round like `ratio`. */
  cpuRatio: number;
  /** Where the true median CPU ratio lies, at 95% confidence, like `ratioInterval`. */
  cpuRatioInterval: MedianInterval;
  /** The per-round CPU ratios. */
  cpuRoundRatios: Summary;
  /** The most CPU per message the target allows, as a ratio, when it sets one (the relay's). */
  cpuTargetRatio?: number;
  target: string;
  /** The ratio the target asks for; the memory row's target is in KiB instead. */
  targetRatio?: number;
  met: boolean;
}

export type Samples = Map<string, { tlsecho: Sample[]; baseline: Sample[] }>;

const succeeded = (samples: Sample[]) =>
  samples.flatMap(({ round, outcome }) => (typeof outcome === 'string' ? [] : [{ round, outcome }]));

function side(samples: Sample[]): Side {
  const outcomes = succeeded(samples).map((s) => s.outcome);
  const values = outcomes.map((o) => o.value);
  const cpu = outcomes.map((o) => o.cpuUsPerOperation).filter((n) => Number.isFinite(n));
  const failures = samples.flatMap(({ outcome }) => (typeof outcome === 'string' ? [outcome] : []));
  return { samples: values, summary: summarise(values), cpuSamples: cpu, cpu: summarise(cpu), failures };
}

/** tlsecho / baseline of one figure, per round where both succeeded. */
function roundRatios(
  entry: { tlsecho: Sample[]; baseline: Sample[] },
  figure: (outcome: Outcome) => number = (outcome) => outcome.value,
): Summary {
  const baseline = new Map(succeeded(entry.baseline).map((s) => [s.round, figure(s.outcome)]));
  const ratios = succeeded(entry.tlsecho).flatMap(({ round, outcome }) => {
    const other = baseline.get(round);
    const ratio = other === undefined ? NaN : figure(outcome) / other;
    return Number.isNaN(ratio) ? [] : [ratio];
  });
  return summarise(ratios);
}

export function buildRows(
  samples: Samples,
  idleConnections: number,
  workloads: Workload[] = WORKLOADS,
): Row[] {
  const rows: Row[] = [];
  for (const workload of workloads) {
    const entry = samples.get(workload.id);
    if (!entry) continue;
    const tlsecho = side(entry.tlsecho);
    const baseline = side(entry.baseline);
    const paired = roundRatios(entry);
    const ratio = paired.median;
    const cpuPaired = roundRatios(entry, (outcome) => outcome.cpuUsPerOperation);
    const { cpuRatio: cpuTarget } = workload.target;
    rows.push({
      id: workload.id,
      title: workload.title,
      unit: workload.unit,
      tlsecho,
      baseline,
      ratio,
      roundRatios: paired,
      ratioInterval: medianInterval(paired.samples),
      cpuRatio: cpuPaired.median,
      cpuRatioInterval: medianInterval(cpuPaired.samples),
      cpuRoundRatios: cpuPaired,
      target:
        `ratio ≥ ${workload.target.ratio.toFixed(2)}` +
        (cpuTarget === undefined ? '' : `, CPU ratio ≤ ${cpuTarget.toFixed(2)}`),
      targetRatio: workload.target.ratio,
      cpuTargetRatio: cpuTarget,
      met:
        ratio >= workload.target.ratio &&
        (cpuTarget === undefined || cpuPaired.median <= cpuTarget) &&
        tlsecho.failures.length === 0,
    });
  }
  const idle = samples.get(IDLE_ID);
  if (idle) {
    const tlsecho = side(idle.tlsecho);
    const baseline = side(idle.baseline);
    const paired = roundRatios(idle);
    rows.push({
      id: IDLE_ID,
      title: `server RSS per idle connection (${idleConnections.toLocaleString('en-US')} open)`,
      unit: 'KiB',
      tlsecho,
      baseline,
      ratio: paired.median,
      roundRatios: paired,
      ratioInterval: medianInterval(paired.samples),
      cpuRatio: NaN,
      cpuRatioInterval: medianInterval([]),
      cpuRoundRatios: summarise([]),
      target: `tlsecho ≤ ${IDLE_TARGET_BYTES / 1024} KiB`,
      met: tlsecho.summary.median <= IDLE_TARGET_BYTES / 1024 && tlsecho.failures.length === 0,
    });
  }
  return rows;
}
