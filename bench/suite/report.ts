// The report: the terminal table, the Markdown written to bench/results/latest.md, and the progress lines.
import { formatMarkdownTable, formatRatio, formatTable, medianRank } from '../stats.js';
import type { Row, Side } from './rows.js';
import type { Outcome } from './run-workload.js';

const HEADER = [
  'workload',
  'unit',
  'tlsecho min / median / max',
  'baseline min / median / max',
  'ratio',
  '95% interval',
  'rounds min – max',
  'target',
  '',
];

function cells(row: Row): string[] {
  const fmt = (s: Side) =>
    s.samples.length === 0
      ? 'failed'
      : `${figure(s.summary.min)} / ${figure(s.summary.median)} / ${figure(s.summary.max)}` +
        (s.failures.length > 0 ? ` (${s.failures.length} failed)` : '');
  return [
    row.title,
    row.unit,
    fmt(row.tlsecho),
    fmt(row.baseline),
    formatRatio(row.ratio, row.targetRatio),
    Number.isFinite(row.ratioInterval.low)
      ? `${row.ratioInterval.low.toFixed(2)} – ${row.ratioInterval.high.toFixed(2)}`
      : '–',
    row.roundRatios.samples.length === 0
      ? '–'
      : `${row.roundRatios.min.toFixed(2)} – ${row.roundRatios.max.toFixed(2)}`,
    row.target,
    row.met ? 'met' : 'MISSED',
  ];
}

// Server CPU per operation is steadier than throughput on a busy machine: another process taking a core
// slows both ends, but changes little what each message costs the server.
const CPU_HEADER = [
  'workload',
  'server CPU per',
  'tlsecho µs min / median / max',
  'baseline µs min / median / max',
  'ratio',
];

function cpuCells(row: Row): string[] {
  const fmt = (s: Side) =>
    s.cpuSamples.length === 0
      ? '–'
      : `${s.cpu.min.toFixed(1)} / ${s.cpu.median.toFixed(1)} / ${s.cpu.max.toFixed(1)}`;
  const ratio = row.cpuRatio;
  return [
    row.title,
    row.id === 'handshakes' ? 'handshake' : 'message',
    fmt(row.tlsecho),
    fmt(row.baseline),
    Number.isFinite(ratio) ? ratio.toFixed(2) : '–',
  ];
}

// The relay rows have a CPU target of their own, so their CPU ratio comes with its interval and rounds.
const RELAY_CPU_HEADER = [
  'workload',
  'relay CPU per',
  ...CPU_HEADER.slice(2),
  '95% interval',
  'rounds min – max',
];

function relayCpuCells(row: Row): string[] {
  const interval = row.cpuRatioInterval;
  const rounds = row.cpuRoundRatios;
  const base = cpuCells(row);
  // Three decimals when two would round a miss down onto its ceiling: "1.20" above "≤ 1.20" would read as met.
  const ratio = row.cpuRatio;
  const target = row.cpuTargetRatio;
  if (target !== undefined && ratio > target && Number(ratio.toFixed(2)) <= target)
    base[4] = ratio.toFixed(3);
  return [
    ...base,
    Number.isFinite(interval.low) ? `${interval.low.toFixed(2)} – ${interval.high.toFixed(2)}` : '–',
    rounds.samples.length === 0 ? '–' : `${rounds.min.toFixed(2)} – ${rounds.max.toFixed(2)}`,
  ];
}

const hasCpu = (row: Row) => row.tlsecho.cpuSamples.length > 0 || row.baseline.cpuSamples.length > 0;

export function formatRows(rows: Row[]): string {
  const cpuRows = rows.filter(hasCpu);
  const throughput = formatTable(HEADER, rows.map(cells));
  if (cpuRows.length === 0) return throughput;
  return `${throughput}\n${formatTable(CPU_HEADER, cpuRows.map(cpuCells))}`;
}

/** The relay benchmark's terminal tables: throughput, then relay CPU per message with its interval. */
export function formatRelayRows(rows: Row[]): string {
  return `${formatTable(HEADER, rows.map(cells))}\n${formatTable(RELAY_CPU_HEADER, rows.map(relayCpuCells))}`;
}

/** bench/results/relay.md. */
export function formatRelayMarkdown(
  rows: Row[],
  machine: Record<string, unknown>,
  settings: { rounds: number } & Record<string, unknown>,
  started: Date,
  finished: Date,
): string {
  const lines = [
    '# tlsecho proxy vs. a raw TLS relay: latest results',
    '',
    `Run ${started.toISOString()} to ${finished.toISOString()} by \`npm run bench:relay\`; see [../README.md](../README.md) for how to read this.`,
    '',
    'Both relays stand in front of the same `tlsecho serve`; "tlsecho" is `tlsecho proxy` (stdout to /dev/null),',
    '"baseline" a Node TLS relay piping bytes both ways ([../relay-baseline.ts](../relay-baseline.ts)).',
    '',
    formatMarkdownTable(HEADER, rows.map(cells)).trimEnd(),
    '',
    'Relay CPU time (user + system, from `/proc/PID/stat`) per message, over each whole run (connection set-up',
    'and warm-up included, for both relays alike); lower is better. The target asks for a CPU ratio ≤ 1.20:',
    '',
    formatMarkdownTable(RELAY_CPU_HEADER, rows.map(relayCpuCells)).trimEnd(),
    '',
    ...machineLines(machine, settings),
    '',
    'Ratios, intervals and "rounds min – max" are read as in [latest.md](latest.md): per-round ratios of the two',
    `relays measured back to back, their median, and the order statistics bracketing it (with ${settings.rounds} rounds,`,
    `${intervalRanks(settings.rounds)}). "met" needs both the throughput and the CPU ratio on the right side of their targets.`,
    '',
  ];
  return `${lines.join('\n')}`;
}

export function formatMarkdown(
  rows: Row[],
  machine: Record<string, unknown>,
  settings: { rounds: number } & Record<string, unknown>,
  started: Date,
  finished: Date,
): string {
  const lines = [
    '# tlsecho vs. a raw TLS pipe: latest results',
    '',
    `Run ${started.toISOString()} to ${finished.toISOString()} by \`npm run bench\`; see [../README.md](../README.md) for how to read this.`,
    '',
    formatMarkdownTable(HEADER, rows.map(cells)).trimEnd(),
    '',
    'Server CPU time (user + system, from `/proc/PID/stat`) per message or handshake, over each whole run',
    '(connection set-up and warm-up included, for both servers alike); lower is better:',
    '',
    formatMarkdownTable(CPU_HEADER, rows.filter(hasCpu).map(cpuCells)).trimEnd(),
    '',
    ...machineLines(machine, settings),
    '',
    'The load generator and both servers share the machine. Each round measures both servers back to back (alternating',
    'which goes first); the ratio is the median over rounds of tlsecho / baseline within a round, and "rounds min – max"',
    "is the lowest and highest of those per-round ratios: how far the machine's noise moved the ratio. The 95% interval",
    'is where the median ratio itself lies with 95% confidence, given that noise (the order statistics of the per-round',
    `ratios that bracket the median; with ${settings.rounds} rounds, ${intervalRanks(settings.rounds)}). When the target lies`,
    'inside it, the run cannot tell a miss from noise; "met" and "MISSED" still go by the ratio alone.',
    '',
  ];
  return `${lines.join('\n')}`;
}

// Where and how a run was made, as both results files say it.
function machineLines(machine: Record<string, unknown>, settings: Record<string, unknown>): string[] {
  return [
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
      `load average before ${JSON.stringify(machine.loadAverageBefore)}, after ${JSON.stringify(machine.loadAverageAfter)}.`,
    `Settings: ${JSON.stringify(settings)}.`,
  ];
}

// "the 2nd lowest to the 2nd highest", as medianInterval picks them for this many rounds.
function intervalRanks(rounds: number): string {
  const { rank } = medianRank(rounds);
  const nth = rank === 1 ? '' : `${rank}${ordinalSuffix(rank)} `;
  return `the ${nth}lowest to the ${nth}highest`;
}

function ordinalSuffix(n: number): string {
  if (n % 100 >= 11 && n % 100 <= 13) return 'th';
  return ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
}

function figure(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n >= 1000) return Math.round(n).toLocaleString('en-US');
  if (n >= 100) return n.toFixed(0);
  return n.toFixed(1);
}

export function describe(outcome: Outcome | string, unit: string): string {
  return typeof outcome === 'string'
    ? `FAILED ${outcome}`
    : `${figure(outcome.value)} ${unit}, server CPU ${outcome.cpuUsPerOperation.toFixed(1)} µs each`;
}

export function mib(bytes: number): string {
  return (bytes / 1024 ** 2).toFixed(1);
}
