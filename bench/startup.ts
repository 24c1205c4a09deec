// The start-up benchmark: how long tlsecho takes to do one small thing, against the least Node (or openssl)
// takes to do the same thing, paired in one run.
//
//   npm run bench:startup [-- --rounds 15]
//
// Each round runs every pair once, alternating which side goes first, after two uncounted warm-up rounds.
// A figure is the wall time from spawning the process to the moment it has done the job: exit for one-shot
// commands, the listening line on stderr for servers, the first prompt on a pseudo-terminal for `connect`.
// Prints one table and writes bench/results/startup.{json,md}.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateSelfSigned } from '../src/certs/generate.js';
import { BIN } from './servers.js';
import { formatMarkdownTable, formatTable, medianInterval, summarise, type Summary } from './stats.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const MINIMAL_SEND = fileURLToPath(new URL('./startup/minimal-send.mjs', import.meta.url));
const MINIMAL_SERVER = fileURLToPath(new URL('./startup/minimal-server.mjs', import.meta.url));
const WARM_UP_ROUNDS = 2;
// A run that takes longer than this is stuck, not slow: the benchmark stops rather than wait.
const RUN_LIMIT_MS = 20_000;

/** How a run is done: the process exits, or a line on one of its outputs says it is ready. */
type Finish = { exit: true } | { readyWhen: RegExp; on: 'stdout' | 'stderr' };

interface Command {
  argv: string[];
  finish: Finish;
}

interface Pair {
  id: string;
  title: string;
  tlsecho: Command;
  baseline: Command;
  baselineName: string;
  /** tlsecho's time over the baseline's, at most; reported only when absent. */
  target?: number;
}

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 200) {
  process.stderr.write(
    `bench:startup: --rounds takes a whole number from 1 to 200, not '${values.rounds}'\n`,
  );
  process.exit(2);
}

const work = await mkdtemp(join(tmpdir(), 'tlsecho-startup-'));
try {
  const certificate = await generateSelfSigned({ hosts: ['localhost', '127.0.0.1'] });
  const certFile = join(work, 'server.crt');
  const keyFile = join(work, 'server.key');
  await writeFile(certFile, certificate.certPem);
  await writeFile(keyFile, certificate.keyPem, { mode: 0o600 });
  const server = await startEchoServer(certFile, keyFile);
  try {
    const pairs = definePairs(server.port, certificate.fingerprint, certFile, keyFile, work);
    const times = new Map(
      pairs.map((pair) => [pair.id, { tlsecho: [] as number[], baseline: [] as number[] }]),
    );
    for (let round = 0; round < WARM_UP_ROUNDS + rounds; round++) {
      for (const pair of pairs) {
        const sides =
          round % 2 === 0 ? (['tlsecho', 'baseline'] as const) : (['baseline', 'tlsecho'] as const);
        for (const side of sides) {
          const ms = await timeRun(pair[side]);
          if (round >= WARM_UP_ROUNDS) times.get(pair.id)![side].push(ms);
        }
      }
      process.stderr.write(round < WARM_UP_ROUNDS ? 'w' : '.');
    }
    process.stderr.write('\n');
    await report(pairs, times);
  } finally {
    server.stop();
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

function definePairs(port: number, pin: string, certFile: string, keyFile: string, work: string): Pair[] {
  const exit = { exit: true } as const;
  const target = `127.0.0.1:${port}`;
  const gencertDir = join(work, 'gencert');
  return [
    {
      id: 'send-pin',
      title: 'send one message, pinned',
      tlsecho: { argv: [process.execPath, BIN, 'send', '--pin', pin, target, 'ping'], finish: exit },
      baseline: {
        argv: [process.execPath, MINIMAL_SEND, '--pin', pin, '127.0.0.1', `${port}`, 'ping'],
        finish: exit,
      },
      baselineName: 'minimal Node TLS client',
      target: 1.3,
    },
    {
      id: 'send-ca',
      title: 'send one message, --ca',
      tlsecho: { argv: [process.execPath, BIN, 'send', '--ca', certFile, target, 'ping'], finish: exit },
      baseline: {
        argv: [process.execPath, MINIMAL_SEND, '--ca', certFile, '127.0.0.1', `${port}`, 'ping'],
        finish: exit,
      },
      baselineName: 'minimal Node TLS client',
      target: 1.3,
    },
    {
      id: 'version',
      title: '--version',
      tlsecho: { argv: [process.execPath, BIN, '--version'], finish: exit },
      baseline: { argv: [process.execPath, '-e', '0'], finish: exit },
      baselineName: 'node -e 0',
      target: 1.25,
    },
    {
      id: 'serve-ready',
      title: 'serve, to its listening line',
      tlsecho: {
        argv: [process.execPath, BIN, 'serve', '--cert', certFile, '--key', keyFile, '--port', '0'],
        finish: { readyWhen: /^listening on /m, on: 'stderr' },
      },
      baseline: {
        argv: [process.execPath, MINIMAL_SERVER, certFile, keyFile],
        finish: { readyWhen: /^listening on /m, on: 'stderr' },
      },
      baselineName: 'minimal Node TLS server',
      target: 1.5,
    },
    {
      id: 'connect-prompt',
      title: 'connect, to its first prompt on a terminal',
      // script(1) gives the client a pseudo-terminal, so it starts its interactive session.
      tlsecho: {
        argv: [
          'script',
          '-qfec',
          shellWords([process.execPath, BIN, 'connect', '--pin', pin, target]),
          '/dev/null',
        ],
        // The prompt, after whatever cursor movements readline draws it with.
        // eslint-disable-next-line no-control-regex -- terminal escape sequences are what this matches
        finish: { readyWhen: /(^|\n)(\x1b\[[0-9;]*[A-Za-z])*> /, on: 'stdout' },
      },
      baseline: {
        argv: [
          'script',
          '-qfec',
          shellWords([process.execPath, MINIMAL_SEND, '--pin', pin, '127.0.0.1', `${port}`, 'ping']),
          '/dev/null',
        ],
        finish: exit,
      },
      baselineName: 'minimal client, one exchange',
    },
    {
      id: 'gencert',
      title: 'gencert, ECDSA P-256 self-signed',
      tlsecho: { argv: [process.execPath, BIN, 'gencert', '--out', gencertDir, '--force'], finish: exit },
      baseline: {
        argv: [
          'openssl',
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          join(work, 'openssl.key'),
          '-out',
          join(work, 'openssl.crt'),
          '-days',
          '820',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
        ],
        finish: exit,
      },
      baselineName: 'openssl req -x509',
    },
  ];
}

/** Spawns `command` and resolves with the milliseconds until it has done its job; a failed run stops the benchmark. */
function timeRun(command: Command): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command.argv[0]!, command.argv.slice(1), {
      // A process that is ready while still running keeps stdin open, as a terminal would.
      stdio: ['exit' in command.finish ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, CI: '', NO_COLOR: '1' },
    });
    let ready: number | undefined;
    const output = { stdout: '', stderr: '' };
    const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream]!.on('data', (chunk: Buffer) => {
        output[stream] += chunk.toString();
        const finish = command.finish;
        if (
          ready === undefined &&
          'readyWhen' in finish &&
          finish.on === stream &&
          finish.readyWhen.test(output[stream])
        ) {
          ready = performance.now() - started;
          child.kill('SIGTERM');
        }
      });
    }
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      const elapsed = ready ?? performance.now() - started;
      const ok = 'exit' in command.finish ? code === 0 : ready !== undefined;
      if (ok) resolve(elapsed);
      else reject(new Error(`${command.argv.join(' ')} failed (${signal ?? code}): ${output.stderr.trim()}`));
    });
  });
}

/** A plain tlsecho echo server for the clients to talk to, on an ephemeral port. */
async function startEchoServer(certFile: string, keyFile: string): Promise<{ port: number; stop(): void }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--cert', certFile, '--key', keyFile, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      // Its log lines keep coming, one per connection; only the first lines are of interest.
      if (stderr.length > 64 * 1024) return;
      stderr += chunk.toString();
      const match = /listening on [^\s]+:(\d+)/.exec(stderr);
      if (match) resolve(Number(match[1]));
    });
    child.on('close', () => reject(new Error(`the echo server exited: ${stderr.trim()}`)));
  });
  return { port, stop: () => child.kill('SIGTERM') };
}

async function report(
  pairs: Pair[],
  times: Map<string, { tlsecho: number[]; baseline: number[] }>,
): Promise<void> {
  const header = [
    'what',
    'tlsecho ms (min / median / max)',
    'baseline',
    'baseline ms',
    'ratio',
    '95% interval',
    'target',
  ];
  const results = pairs.map((pair) => {
    const { tlsecho, baseline } = times.get(pair.id)!;
    const ratios = tlsecho.map((ms, i) => ms / baseline[i]!);
    const ratio = summarise(ratios).median;
    const interval = medianInterval(ratios);
    const verdict =
      pair.target === undefined
        ? 'reported'
        : interval.low <= pair.target
          ? ratio <= pair.target
            ? 'met'
            : 'met within noise'
          : 'MISSED';
    return { pair, tlsecho: summarise(tlsecho), baseline: summarise(baseline), ratio, interval, verdict };
  });
  const ms = (s: Summary) => `${s.min.toFixed(0)} / ${s.median.toFixed(0)} / ${s.max.toFixed(0)}`;
  const rows = results.map((r) => [
    r.pair.title,
    ms(r.tlsecho),
    r.pair.baselineName,
    ms(r.baseline),
    r.ratio.toFixed(2),
    `${r.interval.low.toFixed(2)}–${r.interval.high.toFixed(2)}`,
    r.pair.target === undefined ? r.verdict : `≤ ${r.pair.target} ${r.verdict}`,
  ]);
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, load ${loadavg()[0]!.toFixed(2)}`;
  const note = `${rounds} rounds (after ${WARM_UP_ROUNDS} warm-up rounds), each pair alternating which side runs first; ratio = median of the per-round ratios tlsecho / baseline.`;
  process.stdout.write(`\n${machine}\n${note}\n\n${formatTable(header, rows)}`);
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(
    join(RESULTS_DIR, 'startup.md'),
    `# Start-up\n\n${machine}\n\n${note}\n\n${formatMarkdownTable(header, rows)}`,
  );
  await writeFile(
    join(RESULTS_DIR, 'startup.json'),
    `${JSON.stringify({ machine, rounds, results: results.map(({ pair, ...rest }) => ({ id: pair.id, title: pair.title, baselineName: pair.baselineName, target: pair.target, ...rest })) }, null, 2)}\n`,
  );
}

function shellWords(words: string[]): string {
  return words.map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(' ');
}
