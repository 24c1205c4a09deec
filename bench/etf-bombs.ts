// `tlsecho serve --handler etf-echo` under compressed-term bombs: what one bomb costs the handler, and what
// ten clients sending bombs without pause do to an honest client's round trips.
//
//   npm run build && node --import tsx bench/etf-bombs.ts [--rounds 3] [--seconds 8] [--bombers 10] [--json]
//
// The bombs are the two of the hostile-input issue: a 65 KiB frame of compressed zeros that inflates to
// 64 MiB, and a 2 KiB compressed list of 999,990 integers. Half the bombers send one, half the other; a
// bomber whose connection is closed connects again at once. The server is the real CLI in its own process;
// the bombers run in another, so that the honest client's clock measures only the server.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { generateSelfSigned } from '../src/certs/generate.js';
import { atom, encodeTerm, integer, tuple } from '../src/etf/index.js';
import { createEtfEchoHandler } from '../src/server/handlers/etf-echo.js';
import type { SessionContext } from '../src/server/handlers/types.js';

const BIN = fileURLToPath(new URL('../bin/tlsecho', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const DEFAULT_MAX_FRAME = 8 * 1024 * 1024;

function compressedTerm(inner: Buffer): Buffer {
  const head = Buffer.from([131, 80, 0, 0, 0, 0]);
  head.writeUInt32BE(inner.length, 2);
  return Buffer.concat([head, deflateSync(inner, { level: 9 })]);
}

/** A BINARY_EXT of 64 MiB - 5 zeros: 65,251 bytes compressed. */
export function zeroBomb(): Buffer {
  const size = 64 * 1024 * 1024 - 5;
  const inner = Buffer.alloc(size + 5);
  inner[0] = 109;
  inner.writeUInt32BE(size, 1);
  return compressedTerm(inner);
}

/** A LIST_EXT of 999,990 SMALL_INTEGER_EXT zeros: 1,978 bytes compressed. */
export function listBomb(count = 999_990): Buffer {
  const inner = Buffer.alloc(5 + 2 * count + 1);
  inner[0] = 108;
  inner.writeUInt32BE(count, 1);
  for (let i = 0; i < count; i++) inner[5 + 2 * i] = 97;
  inner[5 + 2 * count] = 106;
  return compressedTerm(inner);
}

function framed(payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length);
  return Buffer.concat([header, payload]);
}

function stats(values: number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)! };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

// --- the cost of one bomb, in the handler alone ---

function bombCost(bomb: Buffer, runs: number): { cpuMs: number[]; outcome: string } {
  const handler = createEtfEchoHandler(DEFAULT_MAX_FRAME);
  let outcome = '';
  const context = {
    send: () => true,
    fail: (error: Error) => (outcome = `connection closed: ${error.message.slice(0, 60)}…`),
  } as unknown as SessionContext;
  const session = handler.open(context) as { message(frame: Buffer): unknown };
  const cpuMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    outcome = '';
    const before = process.cpuUsage();
    const reply = session.message(bomb) as Buffer | undefined;
    const used = process.cpuUsage(before);
    cpuMs.push((used.user + used.system) / 1000);
    if (reply) outcome = `${reply.length}-byte reply`;
  }
  return { cpuMs, outcome };
}

// --- the server under load ---

let stopping = false;

async function startServer(dir: string): Promise<{ child: ChildProcess; port: number; caPem: string }> {
  const cert = await generateSelfSigned({ hosts: ['localhost', '127.0.0.1'] });
  await writeFile(join(dir, 'server.crt'), cert.certPem);
  await writeFile(join(dir, 'server.key'), cert.keyPem, { mode: 0o600 });
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--handler',
      'etf-echo',
      '--cert',
      join(dir, 'server.crt'),
      '--key',
      join(dir, 'server.key'),
      '--host',
      '127.0.0.1',
      '--port',
      '0',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // Its default log (a line per accepted and per closed connection) is read and dropped, as an operator's
  // terminal would take it.
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      if (process.env.ETF_BOMBS_SERVER_LOG) process.stderr.write(chunk);
      if (text.length > 4096) return;
      text += chunk.toString();
      const match = /listening on \S+:(\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
    });
    child.on('exit', (code, signal) => {
      const error = new Error(`server exited (${code ?? signal}): ${text.slice(-2000)}`);
      reject(error);
      if (!stopping) {
        process.stderr.write(`${error.message}\n`);
        process.exitCode = 1;
      }
    });
  });
  return { child, port, caPem: cert.certPem };
}

async function dial(port: number, caPem: string): Promise<TLSSocket> {
  const socket = connect({ host: '127.0.0.1', port, ca: caPem, servername: 'localhost' });
  await once(socket, 'secureConnect');
  // A reset shows as the 'close' that follows it.
  socket.on('error', () => {});
  return socket;
}

const STALLED = -2;
const STALL_GRACE_MS = 15_000;

function stall(ms: number): Promise<number> {
  return new Promise((resolve) => setTimeout(() => resolve(STALLED), Math.max(ms, 0)).unref());
}

/**
 * Dials until a handshake completes (a server stuck on bombs may reset a connection it cannot serve), or
 * gives up at `deadline` (performance.now()).
 */
async function redial(port: number, caPem: string, deadline: number): Promise<TLSSocket | undefined> {
  while (performance.now() < deadline) {
    const attempt = dial(port, caPem);
    const result = await Promise.race([attempt.catch(() => null), stall(deadline - performance.now())]);
    if (result !== null && result !== STALLED) return result as TLSSocket;
    if (result === STALLED)
      attempt.then(
        (socket) => socket.destroy(),
        () => {},
      );
  }
  return undefined;
}

/** Sends `request` and resolves with the reply's length, or -1 when the connection closes first. */
function roundTrip(socket: TLSSocket, request: Buffer): Promise<number> {
  return new Promise((resolve) => {
    let buffered: Buffer = Buffer.alloc(0);
    const done = (value: number) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
        done(buffered.readUInt32BE(0));
      }
    };
    const onClose = () => done(-1);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.write(request);
  });
}

/** The bombers' process: `count` clients sending bombs until killed. */
async function runBombers(port: number, caPem: string, count: number): Promise<void> {
  const bombs = [framed(zeroBomb()), framed(listBomb())];
  const bomber = async (bomb: Buffer) => {
    for (;;) {
      let socket: TLSSocket;
      try {
        socket = await dial(port, caPem);
      } catch {
        continue;
      }
      socket.on('error', () => {});
      while ((await roundTrip(socket, bomb)) >= 0) process.send?.('bomb');
      process.send?.('bomb');
      socket.destroy();
    }
  };
  // Gone with the bench that started it, however that ends.
  process.on('disconnect', () => process.exit(0));
  process.send?.('ready');
  await Promise.all(Array.from({ length: count }, (_, i) => bomber(bombs[i % 2]!)));
}

async function honestRound(
  port: number,
  caPem: string,
  seconds: number,
): Promise<{ p50: number; p99: number; max: number; count: number; dropped: number }> {
  const giveUp = performance.now() + seconds * 1000 + STALL_GRACE_MS;
  let socket = await redial(port, caPem, giveUp);
  if (!socket) return { p50: Infinity, p99: Infinity, max: Infinity, count: 0, dropped: 1 };
  const request = framed(encodeTerm(tuple(atom('ping'), integer(42))));
  const times: number[] = [];
  let dropped = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const started = performance.now();
    // A connection the server dropped (its idle timeout firing while the event loop was stuck) costs the
    // client a new handshake, counted in that round trip's time.
    let answered: number;
    while (
      (answered = await Promise.race([roundTrip(socket, request), stall(end - started + STALL_GRACE_MS)])) < 0
    ) {
      if (answered === STALLED) break;
      dropped++;
      socket.destroy();
      const again = await redial(port, caPem, giveUp);
      if (!again) {
        answered = STALLED;
        break;
      }
      socket = again;
    }
    times.push(performance.now() - started);
    // A round trip still unanswered well after the round's end is recorded as it stands, and ends the round.
    if (answered === STALLED) break;
  }
  socket.destroy();
  times.sort((a, b) => a - b);
  return {
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    max: times.at(-1)!,
    count: times.length,
    dropped,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number) => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  if (args[0] === 'bombers') {
    await runBombers(Number(args[1]), Buffer.from(args[2]!, 'base64').toString(), Number(args[3]));
    return;
  }
  const rounds = option('rounds', 3);
  const seconds = option('seconds', 8);
  const bombers = option('bombers', 10);
  const json = args.includes('--json');

  const progress = (text: string) => {
    if (!json) process.stderr.write(`${text}\n`);
  };
  const zero = zeroBomb();
  const list = listBomb();
  progress('measuring what one bomb costs the handler…');
  const cost = { zero: bombCost(zero, rounds), list: bombCost(list, rounds) };

  const dir = await mkdtemp(join(tmpdir(), 'tlsecho-etf-bombs-'));
  const server = await startServer(dir);
  const results: {
    quiet: Awaited<ReturnType<typeof honestRound>>;
    loaded: Awaited<ReturnType<typeof honestRound>>;
    bombs: number;
  }[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      progress(`round ${round + 1}: honest client alone…`);
      const quiet = await honestRound(server.port, server.caPem, Math.min(2, seconds));
      progress(`round ${round + 1}: honest client with ${bombers} bombers…`);
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          SELF,
          'bombers',
          String(server.port),
          Buffer.from(server.caPem).toString('base64'),
          String(bombers),
        ],
        { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      );
      try {
        let bombs = 0;
        await new Promise<void>((resolve) =>
          child.on('message', (m) => (m === 'ready' ? resolve() : bombs++)),
        );
        // Let every bomber get its first bomb in before measuring.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const before = bombs;
        const loaded = await honestRound(server.port, server.caPem, seconds);
        results.push({ quiet, loaded, bombs: bombs - before });
      } finally {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
  } finally {
    stopping = true;
    server.child.kill('SIGKILL');
    await once(server.child, 'exit');
    await rm(dir, { recursive: true, force: true });
  }

  const summary = {
    zeroBomb: { bytes: zero.length, cpuMs: stats(cost.zero.cpuMs), outcome: cost.zero.outcome },
    listBomb: { bytes: list.length, cpuMs: stats(cost.list.cpuMs), outcome: cost.list.outcome },
    bombers,
    seconds,
    honestQuiet: { p50: stats(results.map((r) => r.quiet.p50)), p99: stats(results.map((r) => r.quiet.p99)) },
    honestUnderBombs: {
      p50: stats(results.map((r) => r.loaded.p50)),
      p99: stats(results.map((r) => r.loaded.p99)),
      max: stats(results.map((r) => r.loaded.max)),
      roundTrips: stats(results.map((r) => r.loaded.count)),
      dropped: stats(results.map((r) => r.loaded.dropped)),
    },
    bombsAnswered: stats(results.map((r) => r.bombs)),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const ms = (s: { min: number; median: number; max: number }) =>
    `${s.min.toFixed(1)} / ${s.median.toFixed(1)} / ${s.max.toFixed(1)} ms`;
  const n = (s: { min: number; median: number; max: number }) => `${s.min} / ${s.median} / ${s.max}`;
  const lines = [
    `min / median / max over ${rounds} rounds`,
    `one zero bomb (${zero.length} B): ${ms(summary.zeroBomb.cpuMs)} CPU; ${summary.zeroBomb.outcome}`,
    `one list bomb (${list.length} B): ${ms(summary.listBomb.cpuMs)} CPU; ${summary.listBomb.outcome}`,
    `honest round trip, no bombs: p50 ${ms(summary.honestQuiet.p50)}, p99 ${ms(summary.honestQuiet.p99)}`,
    `honest round trip, ${bombers} bombers for ${seconds} s: p50 ${ms(summary.honestUnderBombs.p50)}, p99 ${ms(summary.honestUnderBombs.p99)}, max ${ms(summary.honestUnderBombs.max)}`,
    `  round trips: ${n(summary.honestUnderBombs.roundTrips)}; honest connection dropped by the server: ${n(summary.honestUnderBombs.dropped)}; bombs answered or refused: ${n(summary.bombsAnswered)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
