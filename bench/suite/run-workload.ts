// One run of one workload against one server: `tlsecho bench --json` as a child process, and the server
// CPU time it cost, read from /proc before and after.
import { spawn } from 'node:child_process';
import type { BenchReport } from '../../src/bench/bench.js';
import { BIN, cpuSeconds, type Credentials, type RunningServer } from '../servers.js';
import type { Workload } from './workloads.js';

/** One run against one server: the figure compared, and the server CPU it took per message. */
export interface Outcome {
  value: number;
  cpuUsPerOperation: number;
}

/** Runs `tlsecho bench --json` against a server; the figure the workload compares, or why it failed. */
export async function runWorkload(
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
