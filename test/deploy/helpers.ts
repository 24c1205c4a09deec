// Shared by the deployment tests: a PKI on disk, free ports, long-running processes whose stderr is
// watched line by line, tlsecho's JSON log events, verified TLS clients speaking {packet, 4}, and the
// example configurations in docs/deploy with their production addresses swapped for loopback ones.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { expect, onTestFinished } from 'vitest';
import { generateCa, issueCertificate } from '../../src/certs/generate.js';
import { spawnCli } from '../helpers/run-cli.js';

export const DOCS_DEPLOY = fileURLToPath(new URL('../../docs/deploy/', import.meta.url));

export interface Pki {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  caPem: string;
}

/** A CA and a server certificate for the names the examples use, written as gencert would. */
export async function writePki(dir: string): Promise<Pki> {
  const ca = await generateCa({ cn: 'deploy test CA' });
  const server = await issueCertificate({
    issuer: ca,
    kind: 'server',
    hosts: ['localhost', '127.0.0.1', 'tlsecho.default.svc', 'tlsecho.example.com'],
  });
  const pki = {
    dir,
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    caPem: ca.certPem,
  };
  await writeFile(pki.caFile, ca.certPem);
  await writeFile(pki.certFile, server.certPem);
  await writeFile(pki.keyFile, server.keyPem, { mode: 0o600 });
  await chmod(pki.keyFile, 0o600);
  return pki;
}

/** A port nothing listens on right now: bind port 0, read it, close. (For programs that need a number.) */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Waits on a condition with a deadline, checking after each event-loop turn that did I/O or timers. */
export async function until<T>(
  condition: () => T | undefined | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Retries an async step until it succeeds or the deadline passes (a port that is not accepting yet). */
export async function retry<T>(step: () => Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await step();
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${String(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

export interface Watched {
  child: ChildProcess;
  text: () => string;
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Collects a child's stderr (and stdout) and lets a test wait for a line. */
export function watch(child: ChildProcess, name: string): Watched {
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (text += chunk));
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => (text += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  // A program that could not start (spawn ENOENT) rejects `exited`: a test that awaits it sees the error, and
  // one that only waits for output sees it in the text instead of an unhandled rejection ending the run.
  exited.catch((error: Error) => (text += `\n${name} did not start: ${error.message}\n`));
  return {
    child,
    text: () => text,
    waitFor: async (pattern, timeoutMs = 10_000) =>
      until(
        () => text.match(pattern) ?? undefined,
        `${name} to print ${pattern}\n--- ${name} so far:\n${text}`,
        timeoutMs,
      ),
    exited,
  };
}

/** Starts a system program (haproxy, nginx), killed with all its processes when the test ends. */
export function startProgram(command: string, args: string[], name = command): Watched {
  // In its own process group: nginx forks workers, which outlive a master killed alone.
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  onTestFinished(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
  });
  return watch(child, name);
}

/** Runs a program to completion: its exit status and both outputs together. */
export function runProgram(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

export interface LogEvent {
  msg: string;
  level: string;
  event?: string;
  worker?: number;
  pid?: number;
  remoteAddress?: string;
  remotePort?: number;
  port?: number;
  [key: string]: unknown;
}

export interface Tlsecho extends Watched {
  port: number;
  events: () => LogEvent[];
  waitForEvent: (
    predicate: (event: LogEvent) => boolean,
    what: string,
    timeoutMs?: number,
  ) => Promise<LogEvent>;
}

/**
 * `tlsecho serve ... --json` as a child; resolves once it has said it is listening (for `--workers`, the
 * primary's line naming the worker count).
 */
export async function startTlsecho(args: string[], options: { cwd?: string } = {}): Promise<Tlsecho> {
  const child = spawnCli(['serve', ...args], { cwd: options.cwd });
  child.stdin!.end();
  const watched = watch(child, 'tlsecho serve');
  const events = () =>
    watched
      .text()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogEvent);
  const waitForEvent = (predicate: (event: LogEvent) => boolean, what: string, timeoutMs = 10_000) =>
    until(
      () => events().find(predicate),
      `tlsecho to log ${what}\n--- stderr so far:\n${watched.text()}`,
      timeoutMs,
    );
  const workers = args.includes('--workers');
  const listening = await waitForEvent(
    (event) => event.event === 'listening' && (!workers || event.workers !== undefined),
    'listening',
    20_000,
  );
  return { ...watched, port: listening.port!, events, waitForEvent };
}

/** The `accepted` events of a tlsecho log, as `address port` strings. */
export function acceptedPeers(server: Tlsecho): string[] {
  return server
    .events()
    .filter((event) => event.event === 'accepted')
    .map((event) => `${event.remoteAddress} ${event.remotePort}`);
}

export interface Client {
  socket: TLSSocket;
  /** The client's own port: what a server behind a balancer should log as the peer's. */
  localPort: number;
  echo: (message: string) => Promise<string>;
}

/** A TLS client with verification on (the test CA, server name localhost), speaking {packet, 4}. */
export async function connectClient(port: number, caPem: string): Promise<Client> {
  const socket = tlsConnect({ host: '127.0.0.1', port, ca: caPem, servername: 'localhost' });
  onTestFinished(() => void socket.destroy());
  await once(socket, 'secureConnect');
  expect(socket.authorized).toBe(true);
  let buffered = Buffer.alloc(0);
  const replies: string[] = [];
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
      const length = buffered.readUInt32BE(0);
      replies.push(buffered.subarray(4, 4 + length).toString());
      buffered = buffered.subarray(4 + length);
    }
    wake?.();
  });
  socket.on('close', () => wake?.());
  // A reset (its server was killed) shows as a closed socket: `echo` then fails with a clear message.
  socket.on('error', () => {});
  return {
    socket,
    localPort: socket.localPort!,
    echo: async (message) => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(Buffer.byteLength(message));
      socket.write(Buffer.concat([header, Buffer.from(message)]));
      await until(() => replies.length > 0 || socket.destroyed, `a reply to '${message}'`, 5000);
      wake = undefined;
      const reply = replies.shift();
      if (reply === undefined) throw new Error(`connection closed before a reply to '${message}'`);
      return reply;
    },
  };
}

/**
 * An example configuration from docs/deploy with each `[from, to]` replacement applied. Every `from` must
 * occur in the file, so an edit to the example that the test no longer matches fails loudly here.
 */
export async function exampleConfig(name: string, replacements: Array<[string, string]>): Promise<string> {
  let text = await readFile(join(DOCS_DEPLOY, name), 'utf8');
  for (const [from, to] of replacements) {
    expect(text, `docs/deploy/${name} no longer contains '${from}'`).toContain(from);
    text = text.split(from).join(to);
  }
  return text;
}
