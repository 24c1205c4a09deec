// The relay benchmark: `tlsecho proxy` against a raw Node TLS byte relay, side by side in one run.
//
//   npm run bench:relay [-- --rounds 9 --duration 2s --only relay-pingpong-64b --proxy-args=--quiet]
//
// One `tlsecho serve` (echo, {packet, 4}) is the server; in front of it run `tlsecho proxy` (the real CLI,
// stdout to /dev/null) and relay-baseline.ts, both child processes on loopback. Every workload is driven by
// `tlsecho bench` through each relay in turn, alternating which goes first and repeating, as the suite does;
// the CPU compared is the relay's own. Prints the tables and writes bench/results/relay.{json,md}.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startProxy, startRelayBaseline, startTlsecho } from './servers.js';
import { describe, formatRelayMarkdown, formatRelayRows } from './suite/report.js';
import { buildRows, type Samples } from './suite/rows.js';
import { describeMachine, writeCredentials, writeResults } from './suite/files.js';
import { runPairedRounds } from './suite/paired-rounds.js';
import { RELAY_WORKLOADS } from './suite/workloads.js';

// One client connection per run, so the server needs few; a margin for connections still closing.
const SERVER_MAX_CONNECTIONS = 100;

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        rounds: { type: 'string', default: '9' },
        duration: { type: 'string', default: '2s' },
        warmup: { type: 'string', default: '500ms' },
        only: { type: 'string' },
        'no-write': { type: 'boolean', default: false },
        // Node options for all three processes alike.
        'server-node-options': { type: 'string' },
        // More `tlsecho proxy` flags, space-separated: e.g. --proxy-args='-o hex' or --proxy-args=--quiet.
        'proxy-args': { type: 'string' },
      },
    }));
  } catch (error) {
    process.stderr.write(`bench:relay: ${(error as Error).message.split('\n')[0]}\n`);
    process.exit(2);
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write(
      `bench:relay: --rounds takes a whole number of at least 1, not '${values.rounds}'\n`,
    );
    process.exit(2);
  }
  const nodeOptions = values['server-node-options'];
  const proxyArgs = values['proxy-args']?.split(' ').filter(Boolean) ?? [];
  const only = values.only?.split(',');
  const workloads = RELAY_WORKLOADS.filter((w) => only === undefined || only.includes(w.id));
  if (workloads.length === 0) {
    process.stderr.write(
      `bench:relay: --only names none of ${RELAY_WORKLOADS.map((w) => w.id).join(', ')}\n`,
    );
    process.exit(2);
  }
  const started = new Date();
  const loadBefore = loadavg();

  const dir = await mkdtemp(join(tmpdir(), 'tlsecho-bench-relay-'));
  try {
    const credentials = await writeCredentials(dir);
    const samples: Samples = new Map();
    const server = await startTlsecho(
      credentials,
      SERVER_MAX_CONNECTIONS,
      join(dir, 'server.log'),
      nodeOptions,
    );
    try {
      const proxy = await startProxy(
        credentials,
        server.port,
        join(dir, 'proxy.log'),
        nodeOptions,
        proxyArgs,
      );
      const baseline = await startRelayBaseline(
        credentials,
        server.port,
        join(dir, 'baseline.log'),
        nodeOptions,
      );
      try {
        await runPairedRounds({
          workloads,
          tlsecho: proxy,
          baseline,
          credentials,
          rounds,
          duration: values.duration!,
          warmup: values.warmup!,
          measured: (workload, side, round, outcome) => {
            const entry = samples.get(workload.id) ?? { tlsecho: [], baseline: [] };
            samples.set(workload.id, entry);
            entry[side].push({ round, outcome });
            const relay = side === 'tlsecho' ? proxy : baseline;
            log(
              `round ${round + 1}/${rounds} ${workload.id} ${relay.name}: ${describe(outcome, workload.unit).replace('server CPU', 'relay CPU')}`,
            );
          },
          log,
        });
      } finally {
        await Promise.all([proxy.stop(), baseline.stop()]);
      }
    } finally {
      await server.stop();
    }

    const rows = buildRows(samples, 0, RELAY_WORKLOADS);
    const machine = describeMachine(loadBefore);
    const settings = {
      rounds,
      duration: values.duration,
      warmup: values.warmup,
      proxyArgs,
      serverNodeOptions: nodeOptions ?? null,
    };
    const finished = new Date();
    process.stdout.write(`\n${formatRelayRows(rows)}\n`);
    if (!values['no-write']) {
      const markdown = formatRelayMarkdown(rows, machine, settings, started, finished);
      log(await writeResults('relay', { started, finished, machine, settings, rows }, markdown));
    }
    if (rows.some((row) => row.tlsecho.failures.length > 0 || row.baseline.failures.length > 0)) {
      process.exitCode = 1;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

await main();
