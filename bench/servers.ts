// Starting and stopping the two servers the suite compares, as child processes on loopback port 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/tlsecho', import.meta.url));
const BASELINE = fileURLToPath(new URL('./baseline-server.ts', import.meta.url));
const RELAY_BASELINE = fileURLToPath(new URL('./relay-baseline.ts', import.meta.url));
const STARTUP_TIMEOUT_MS = 20_000;
const STARTUP_POLL_MS = 25;

export interface RunningServer {
  name: string;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

export interface Credentials {
  certFile: string;
  keyFile: string;
}

/**
 * `tlsecho serve`, the real CLI as a user starts it: echo handler, `{packet, 4}`, its default log of one
 * line per accepted and per closed connection. Both output streams go to `logFile`, as with
 * `tlsecho serve 2> server.log`: the server pays for writing its log, but nobody on this shared machine
 * pays for reading it while the load generator runs.
 */
export function startTlsecho(
  credentials: Credentials,
  maxConnections: number,
  logFile: string,
  nodeOptions?: string,
): Promise<RunningServer> {
  const args = [
    BIN,
    'serve',
    '--cert',
    credentials.certFile,
    '--key',
    credentials.keyFile,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--max-connections',
    String(maxConnections),
  ];
  return startLogging('tlsecho', args, logFile, nodeOptions, listeningPort);
}

// `listening on 127.0.0.1:41234 (packet 4, echo)`, as serve and proxy announce it.
function listeningPort(line: string): number | undefined {
  const match = /^listening on \S+:(\d+) /.exec(line);
  return match ? Number(match[1]) : undefined;
}

/**
 * `tlsecho proxy` in front of the server on `targetPort`, the real CLI as a user benchmarking it would start
 * it: every frame shown with the default `--output text` on a stdout sent to /dev/null, as with
 * `tlsecho proxy … > /dev/null`, and the log (a line per connection) in `logFile`. `extraArgs` adds flags,
 * e.g. `--quiet`.
 */
export function startProxy(
  credentials: Credentials,
  targetPort: number,
  logFile: string,
  nodeOptions?: string,
  extraArgs: string[] = [],
): Promise<RunningServer> {
  const args = [
    BIN,
    'proxy',
    '--listen',
    '127.0.0.1:0',
    `127.0.0.1:${targetPort}`,
    '--ca',
    credentials.certFile,
    '--cert',
    credentials.certFile,
    '--key',
    credentials.keyFile,
    ...extraArgs,
  ];
  return startLogging('proxy', args, logFile, nodeOptions, listeningPort, '/dev/null');
}

/** The raw TLS byte relay (relay-baseline.ts) in front of the server on `targetPort`. */
export function startRelayBaseline(
  credentials: Credentials,
  targetPort: number,
  logFile: string,
  nodeOptions?: string,
): Promise<RunningServer> {
  const args = [
    '--import',
    'tsx',
    RELAY_BASELINE,
    '--cert',
    credentials.certFile,
    '--key',
    credentials.keyFile,
    '--ca',
    credentials.certFile,
    '--target-port',
    String(targetPort),
  ];
  return startLogging('baseline', args, logFile, nodeOptions, jsonPort);
}

/** The raw byte pipe: no framing at all. Its one line of output, `{"port": N, ...}`, goes to `logFile`. */
export function startBaseline(
  credentials: Credentials,
  logFile: string,
  nodeOptions?: string,
): Promise<RunningServer> {
  const args = ['--import', 'tsx', BASELINE, '--cert', credentials.certFile, '--key', credentials.keyFile];
  return startLogging('baseline', args, logFile, nodeOptions, jsonPort);
}

// `{"port": 41234, "pid": 5678}`, as the baselines announce it.
function jsonPort(line: string): number | undefined {
  const port = parseJson(line)?.port;
  return typeof port === 'number' && port > 0 ? port : undefined;
}

/** Resident set size of a process, in bytes, as the kernel counts it (VmRSS in /proc/PID/status). */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

// No colour, no spinners, no inherited TLSECHO_* settings: the children run as in CI.
function benchEnv(nodeOptions?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('TLSECHO_')) env[key] = value;
  }
  if (nodeOptions) env.NODE_OPTIONS = [env.NODE_OPTIONS, nodeOptions].filter(Boolean).join(' ');
  return { ...env, CI: 'true', NO_COLOR: '1' };
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

// Starts `node ARGS` with stdout and stderr appended to `logFile`, and waits for the line naming its port.
// A file rather than a pipe: reading a pipe would make the suite itself busy, on the same two cores as the
// server and the load generator, for every line a busy server logs. With `stdoutFile`, stdout goes there
// instead (the port must then be announced on stderr).
async function startLogging(
  name: string,
  args: string[],
  logFile: string,
  nodeOptions: string | undefined,
  portOf: (line: string) => number | undefined,
  stdoutFile?: string,
): Promise<RunningServer> {
  const fd = openSync(logFile, 'a');
  const alreadyLogged = fstatSync(fd).size; // an earlier server's lines, when a round restarts one
  let child: ChildProcess;
  let outFd = fd;
  try {
    if (stdoutFile !== undefined) outFd = openSync(stdoutFile, 'a');
    child = spawn(process.execPath, args, { stdio: ['ignore', outFd, fd], env: benchEnv(nodeOptions) });
  } finally {
    closeSync(fd); // the child has its own copy
    if (outFd !== fd) closeSync(outFd);
  }
  const startedAt = Date.now();
  for (;;) {
    const output = (await readFile(logFile)).subarray(alreadyLogged).toString('utf8');
    for (const line of output.split('\n')) {
      const port = portOf(line);
      if (port !== undefined) return { name, pid: child.pid!, port, stop: () => stopChild(child) };
    }
    const excerpt = output.split('\n').slice(0, 50).join('\n');
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited with code ${child.exitCode} before listening:\n${excerpt}`);
    }
    if (Date.now() - startedAt > STARTUP_TIMEOUT_MS) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start listening within ${STARTUP_TIMEOUT_MS} ms:\n${excerpt}`);
    }
    await sleep(STARTUP_POLL_MS);
  }
}
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// Linux reports utime and stime in clock ticks of USER_HZ, which is 100 on every mainstream architecture.
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time a process has used so far (user + system), in seconds, from /proc/PID/stat. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses; the fields after it are plain numbers.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, so 12 and 13 after the command name.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}
