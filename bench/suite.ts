// The macro benchmark: tlsecho's server against a raw TLS byte pipe, side by side in one run.
//
//   npm run bench [-- --rounds 9 --duration 2s --connections-idle 5000 --idle-rounds 3 --only pingpong-64b,handshakes]
//
// Both servers run as child processes on loopback; every workload is driven by `tlsecho bench` (also a
// child) against each in turn, alternating which goes first and repeating, so that the noise of a shared
// machine lands on both. Prints one table and writes bench/results/latest.{json,md}.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchReport } from '../src/bench/bench.js';
import { generateSelfSigned } from '../src/certs/generate.js';
import { measureIdleMemory } from './idle-memory.js';
import {
  BIN,
  cpuSeconds,
  startBaseline,
  startTlsecho,
  type Credentials,
  type RunningServer,
} from './servers.js';
import {
  formatMarkdownTable,
  formatRatio,
  formatTable,
  medianInterval,
  medianRank,
  summarise,
  type MedianInterval,
  type Summary,
} from './stats.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** A workload: the `tlsecho bench` flags, and which figure of its report is compared. */
interface Workload {
  id: string;
  title: string;
  args: string[];
  metric: 'messagesPerSecond' | 'mbPerSecondIn' | 'handshakesPerSecond';
  unit: string;
  target: { ratio: number };
}

const WORKLOADS: Workload[] = [
  {
    id: 'pingpong-64b',
    title: '64 B ping-pong, 1 connection',
    args: ['-c', '1', '-s', '64', '--pipeline', '1'],
    metric: 'messagesPerSecond',
    unit: 'msgs/s',
    target: { ratio: 1.0 },
  },
  {
    id: 'pipelined-1k',
    title: '1 KiB pipelined 32 deep, 1 connection',
    args: ['-c', '1', '-s', '1KiB', '--pipeline', '32'],
    metric: 'messagesPerSecond',
    unit: 'msgs/s',
    target: { ratio: 1.0 },
  },
  {
    id: 'conns50-1k',
    title: '50 connections × 1 KiB ping-pong',
    args: ['-c', '50', '-s', '1KiB', '--pipeline', '1'],
    metric: 'messagesPerSecond',
    unit: 'msgs/s',
    target: { ratio: 1.0 },
  },
  {
    id: 'pipelined-64k',
    title: '64 KiB pipelined 8 deep, 1 connection',
    args: ['-c', '1', '-s', '64KiB', '--pipeline', '8'],
    metric: 'mbPerSecondIn',
    unit: 'MB/s',
    target: { ratio: 1.0 },
  },
  {
    id: 'handshakes',
    title: 'TLS handshakes (new connection per 64 B message, 4 at a time)',
    args: ['--handshakes', '-c', '4', '-s', '64'],
    metric: 'handshakesPerSecond',
    unit: 'handshakes/s',
    target: { ratio: 0.95 },
  },
];

const IDLE_ID = 'idle-memory';
const WARM_UP_PASS_DURATION = '1s';
const IDLE_TARGET_BYTES = 32 * 1024;

interface Side {
  samples: number[];
  summary: Summary;
  /** Server CPU time (user + system) per message or handshake, in microseconds, for each sample. */
  cpuSamples: number[];
  cpu: Summary;
  failures: string[];
}

/** One run against one server: the figure compared, and the server CPU it took per message. */
interface Outcome {
  value: number;
  cpuUsPerOperation: number;
}

/** An outcome, or why the run failed, with the round it belongs to (so rounds pair up despite failures). */
type Sample = { round: number; outcome: Outcome | string };

interface Row {
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
  target: string;
  /** The ratio the target asks for; the memory row's target is in KiB instead. */
  targetRatio?: number;
  met: boolean;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      // Many short rounds rather than a few long ones: the two runs of a round are closer in time, so the
      // machine's drift moves both alike.
      rounds: { type: 'string', default: '9' },
      duration: { type: 'string', default: '2s' },
      warmup: { type: 'string', default: '500ms' },
      'connections-idle': { type: 'string', default: '5000' },
      // Idle memory barely moves between rounds (±1%), and each round opens thousands of connections twice.
      'idle-rounds': { type: 'string', default: '3' },
      only: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      // Node options for both servers alike, to try a runtime setting (e.g. --max-semi-space-size=1).
      'server-node-options': { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  const idleConnections = Number(values['connections-idle']);
  const idleRounds = Number(values['idle-rounds']);
  const nodeOptions = values['server-node-options'];
  const only = values.only?.split(',');
  const selected = (id: string) => only === undefined || only.includes(id);
  const started = new Date();
  const loadBefore = loadavg();

  const dir = await mkdtemp(join(tmpdir(), 'tlsecho-bench-'));
  try {
    const credentials = await writeCredentials(dir);
    const logs = { tlsecho: join(dir, 'tlsecho.log'), baseline: join(dir, 'baseline.log') };
    const ca = credentials.certPem;
    const samples: Samples = new Map();
    const record = (id: string, side: 'tlsecho' | 'baseline', round: number, outcome: Outcome | string) => {
      const entry = samples.get(id) ?? { tlsecho: [], baseline: [] };
      samples.set(id, entry);
      entry[side].push({ round, outcome });
    };

    const throughput = WORKLOADS.filter((w) => selected(w.id));
    if (throughput.length > 0) {
      const tlsecho = await startTlsecho(credentials, idleConnections + 100, logs.tlsecho, nodeOptions);
      const baseline = await startBaseline(credentials, logs.baseline, nodeOptions);
      try {
        // One unmeasured pass first: a server's first seconds (JIT compilation, first TLS sessions) would
        // otherwise weigh on whichever workload comes first.
        for (const workload of throughput) {
          for (const server of [tlsecho, baseline]) {
            await runWorkload(workload, server, credentials, WARM_UP_PASS_DURATION, '0s');
          }
        }
        log('warm-up pass done');
        for (let round = 0; round < rounds; round++) {
          for (const workload of throughput) {
            // Alternate which server goes first, so neither always runs second on a warmer machine.
            const order: RunningServer[] = round % 2 === 0 ? [tlsecho, baseline] : [baseline, tlsecho];
            for (const server of order) {
              const outcome = await runWorkload(
                workload,
                server,
                credentials,
                values.duration!,
                values.warmup!,
              );
              record(workload.id, server === tlsecho ? 'tlsecho' : 'baseline', round, outcome);
              log(
                `round ${round + 1}/${rounds} ${workload.id} ${server.name}: ${describe(outcome, workload.unit)}`,
              );
            }
          }
        }
      } finally {
        await Promise.all([tlsecho.stop(), baseline.stop()]);
      }
    }

    if (selected(IDLE_ID)) {
      for (let round = 0; round < idleRounds; round++) {
        const names = round % 2 === 0 ? ['tlsecho', 'baseline'] : ['baseline', 'tlsecho'];
        for (const name of names) {
          // A fresh server each time: memory freed by an earlier round would be reused and hide the cost.
          const server =
            name === 'tlsecho'
              ? await startTlsecho(credentials, idleConnections + 100, logs.tlsecho, nodeOptions)
              : await startBaseline(credentials, logs.baseline, nodeOptions);
          try {
            const result = await measureIdleMemory(server.pid, server.port, ca, idleConnections);
            record(IDLE_ID, name as 'tlsecho' | 'baseline', round, {
              value: result.bytesPerConnection / 1024,
              cpuUsPerOperation: NaN,
            });
            log(
              `round ${round + 1}/${idleRounds} ${IDLE_ID} ${name}: ${(result.bytesPerConnection / 1024).toFixed(1)} KiB/connection ` +
                `(RSS ${mib(result.rssBeforeBytes)} → ${mib(result.rssAfterBytes)} MiB)`,
            );
          } catch (error) {
            record(IDLE_ID, name as 'tlsecho' | 'baseline', round, String((error as Error).message));
            log(`round ${round + 1}/${idleRounds} ${IDLE_ID} ${name}: FAILED ${(error as Error).message}`);
          } finally {
            await server.stop();
          }
        }
      }
    }

    const rows = buildRows(samples, idleConnections);
    const machine = {
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 1024 ** 3),
      loadAverageBefore: loadBefore.map((n) => Number(n.toFixed(2))),
      loadAverageAfter: loadavg().map((n) => Number(n.toFixed(2))),
    };
    const settings = {
      rounds,
      duration: values.duration,
      warmup: values.warmup,
      idleConnections,
      idleRounds,
      serverNodeOptions: nodeOptions ?? null,
    };
    const finished = new Date();
    const text = formatRows(rows);
    process.stdout.write(`\n${text}\n`);
    if (!values['no-write']) {
      await mkdir(RESULTS_DIR, { recursive: true });
      const json = {
        started: started.toISOString(),
        finished: finished.toISOString(),
        machine,
        settings,
        rows,
      };
      await writeFile(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
      await writeFile(
        join(RESULTS_DIR, 'latest.md'),
        formatMarkdown(rows, machine, settings, started, finished),
      );
      log(`wrote ${join('bench', 'results', 'latest.json')} and latest.md`);
    }
    if (rows.some((row) => row.tlsecho.failures.length > 0 || row.baseline.failures.length > 0)) {
      process.exitCode = 1;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeCredentials(dir: string): Promise<Credentials & { certPem: string }> {
  const cert = await generateSelfSigned({ hosts: ['localhost', '127.0.0.1'] });
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  await writeFile(certFile, cert.certPem);
  await writeFile(keyFile, cert.keyPem, { mode: 0o600 });
  return { certFile, keyFile, certPem: cert.certPem };
}

/** Runs `tlsecho bench --json` against a server; the figure the workload compares, or why it failed. */
async function runWorkload(
  workload: Workload,
  server: RunningServer,
  credentials: Credentials,
  duration: string,
  warmup: string,
): Promise<Outcome | string> {
  const args = [
    BIN,
    'bench',
    `127.0.0.1:${server.port}`,
    '--ca',
    credentials.certFile,
    '--json',
    '-d',
    duration,
    '--warmup',
    warmup,
    ...workload.args,
  ];
  const cpuBefore = await cpuSeconds(server.pid);
  const { code, stdout, stderr } = await run(process.execPath, args);
  const cpuUsed = (await cpuSeconds(server.pid)) - cpuBefore;
  let report: BenchReport | undefined;
  try {
    report = JSON.parse(stdout) as BenchReport;
  } catch {
    report = undefined;
  }
  const result = report?.results[0];
  if (code !== 0 || !result) return `exit ${code}: ${stderr.trim().split('\n')[0] ?? ''}`;
  const operations =
    workload.metric === 'handshakesPerSecond' ? result.handshakes.count : result.messages.received;
  // Over the whole child's life (connecting and warming up too), so slightly high for both servers alike.
  const cpuUsPerOperation = (cpuUsed * 1e6) / operations;
  switch (workload.metric) {
    case 'messagesPerSecond':
      return { value: result.throughput.messagesPerSecond, cpuUsPerOperation };
    case 'mbPerSecondIn':
      return { value: result.throughput.mbPerSecondIn, cpuUsPerOperation };
    case 'handshakesPerSecond':
      return { value: result.handshakes.perSecond ?? 0, cpuUsPerOperation };
  }
}

function run(
  command: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: 'true' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
  });
}

type Samples = Map<string, { tlsecho: Sample[]; baseline: Sample[] }>;

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

function buildRows(samples: Samples, idleConnections: number): Row[] {
  const rows: Row[] = [];
  for (const workload of WORKLOADS) {
    const entry = samples.get(workload.id);
    if (!entry) continue;
    const tlsecho = side(entry.tlsecho);
    const baseline = side(entry.baseline);
    const paired = roundRatios(entry);
    const ratio = paired.median;
    rows.push({
      id: workload.id,
      title: workload.title,
      unit: workload.unit,
      tlsecho,
      baseline,
      ratio,
      roundRatios: paired,
      ratioInterval: medianInterval(paired.samples),
      cpuRatio: roundRatios(entry, (outcome) => outcome.cpuUsPerOperation).median,
      target: `ratio ≥ ${workload.target.ratio.toFixed(2)}`,
      targetRatio: workload.target.ratio,
      met: ratio >= workload.target.ratio && tlsecho.failures.length === 0,
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
      target: `tlsecho ≤ ${IDLE_TARGET_BYTES / 1024} KiB`,
      met: tlsecho.summary.median <= IDLE_TARGET_BYTES / 1024 && tlsecho.failures.length === 0,
    });
  }
  return rows;
}

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

const hasCpu = (row: Row) => row.tlsecho.cpuSamples.length > 0 || row.baseline.cpuSamples.length > 0;

function formatRows(rows: Row[]): string {
  const cpuRows = rows.filter(hasCpu);
  const throughput = formatTable(HEADER, rows.map(cells));
  if (cpuRows.length === 0) return throughput;
  return `${throughput}\n${formatTable(CPU_HEADER, cpuRows.map(cpuCells))}`;
}

function formatMarkdown(
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
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
      `load average before ${JSON.stringify(machine.loadAverageBefore)}, after ${JSON.stringify(machine.loadAverageAfter)}.`,
    `Settings: ${JSON.stringify(settings)}.`,
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

function describe(outcome: Outcome | string, unit: string): string {
  return typeof outcome === 'string'
    ? `FAILED ${outcome}`
    : `${figure(outcome.value)} ${unit}, server CPU ${outcome.cpuUsPerOperation.toFixed(1)} µs each`;
}

function mib(bytes: number): string {
  return (bytes / 1024 ** 2).toFixed(1);
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

await main();
