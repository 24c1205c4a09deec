// Starting and stopping the two servers the suite compares, as child processes on loopback port 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const BIN = fileURLToPath(new URL('../bin/tlsecho', import.meta.url));
const BASELINE = fileURLToPath(new URL('./baseline-server.ts', import.meta.url));
const STARTUP_TIMEOUT_MS = 20_000;

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

/** `tlsecho serve`, the real CLI, echoing {packet, 4} frames. */
export function startTlsecho(
  credentials: Credentials,
  maxConnections: number,
  nodeOptions?: string,
): Promise<RunningServer> {
  const child = spawn(
    process.execPath,
    [
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
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: benchEnv(nodeOptions) },
  );
  // `serve --json` announces itself on stderr as a JSON line carrying the port it listens on.
  return waitForPort('tlsecho', child, child.stderr!, (line) => {
    const fields = parseJson(line);
    const port = fields?.port;
    return typeof port === 'number' && port > 0 ? port : undefined;
  });
}

/** The raw byte pipe: no framing at all. */
export function startBaseline(credentials: Credentials, nodeOptions?: string): Promise<RunningServer> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', BASELINE, '--cert', credentials.certFile, '--key', credentials.keyFile],
    { stdio: ['ignore', 'pipe', 'pipe'], env: benchEnv(nodeOptions) },
  );
  return waitForPort('baseline', child, child.stdout!, (line) => {
    const port = parseJson(line)?.port;
    return typeof port === 'number' && port > 0 ? port : undefined;
  });
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

function waitForPort(
  name: string,
  child: ChildProcess,
  stream: NodeJS.ReadableStream,
  portOf: (line: string) => number | undefined,
): Promise<RunningServer> {
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${name} did not start listening within ${STARTUP_TIMEOUT_MS} ms:\n${output.join('\n')}`),
      );
    }, STARTUP_TIMEOUT_MS);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening:\n${output.join('\n')}`));
    };
    child.once('exit', onExit);
    // Keep draining both pipes for the server's whole life, or a chatty server would block on a full pipe.
    child.stdout?.on('data', () => {});
    child.stderr?.on('data', () => {});
    const lines = createInterface({ input: stream });
    lines.on('line', (line) => {
      if (output.length < 50) output.push(line);
      const port = portOf(line);
      if (port === undefined) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.removeAllListeners('line');
      resolve({ name, pid: child.pid!, port, stop: () => stopChild(child) });
    });
  });
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
