// The macro benchmark: tlsecho's server against a raw TLS byte pipe, side by side in one run.
//
//   npm run bench [-- --rounds 9 --duration 2s --connections-idle 5000 --idle-rounds 3 --only pingpong-64b,handshakes]
//
// Both servers run as child processes on loopback; every workload is driven by `tlsecho bench` (also a
// child) against each in turn, alternating which goes first and repeating, so that the noise of a shared
// machine lands on both. Prints one table and writes bench/results/latest.{json,md}.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { measureIdleMemory } from './idle-memory.js';
import { startBaseline, startTlsecho } from './servers.js';
import { describe, formatMarkdown, formatRows, mib } from './suite/report.js';
import { buildRows, type Samples } from './suite/rows.js';
import { describeMachine, writeCredentials, writeResults } from './suite/files.js';
import { runPairedRounds } from './suite/paired-rounds.js';
import type { Outcome } from './suite/run-workload.js';
import { IDLE_ID, WORKLOADS } from './suite/workloads.js';

async function main(): Promise<void> {
  const { values } = parseOptions({
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
  });
  const rounds = Number(values.rounds);
  // Number('x') is NaN, and a loop to NaN runs no round: the suite would print an empty table and exit 0
  // as if it had measured something.
  if (!Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write(`bench: --rounds takes a whole number of at least 1, not '${values.rounds}'\n`);
    process.exit(2);
  }
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
        await runPairedRounds({
          workloads: throughput,
          tlsecho,
          baseline,
          credentials,
          rounds,
          duration: values.duration!,
          warmup: values.warmup!,
          measured: (workload, side, round, outcome) => {
            record(workload.id, side, round, outcome);
            const server = side === 'tlsecho' ? tlsecho : baseline;
            log(
              `round ${round + 1}/${rounds} ${workload.id} ${server.name}: ${describe(outcome, workload.unit)}`,
            );
          },
          log,
        });
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
    const machine = describeMachine(loadBefore);
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
      const markdown = formatMarkdown(rows, machine, settings, started, finished);
      log(await writeResults('latest', { started, finished, machine, settings, rows }, markdown));
    }
    if (rows.some((row) => row.tlsecho.failures.length > 0 || row.baseline.failures.length > 0)) {
      process.exitCode = 1;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** parseArgs, with a usage error as one line and exit 2 rather than a stack trace. */
function parseOptions<T extends ParseArgsConfig['options']>(options: T) {
  try {
    return parseArgs({ options });
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message.split('\n')[0]}\n`);
    process.exit(2);
  }
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

await main();
