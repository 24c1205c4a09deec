import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, onTestFinished, test } from 'vitest';

// The supervisor is tested on a tiny TCP echo app (fixtures/cluster-app.ts) so these tests cover restart,
// drain and counting on their own; test/deploy/haproxy.test.ts runs `tlsecho serve --workers` for real.
const APP = fileURLToPath(new URL('./fixtures/cluster-app.ts', import.meta.url));

interface App {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

async function startApp(
  env: Record<string, string> = {},
  options: { detached?: boolean } = {},
): Promise<App> {
  const child = spawn(process.execPath, ['--import', 'tsx', APP], {
    env: { ...process.env, APP_WORKERS: '2', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: options.detached ?? false,
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) {
      // The whole group when detached, so no worker outlives a failed test.
      if (options.detached) process.kill(-child.pid!, 'SIGKILL');
      else child.kill('SIGKILL');
    }
  });
  let text = '';
  const waiters = new Set<() => void>();
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    text += chunk;
    for (const wake of waiters) wake();
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const waitFor = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = text.match(pattern);
        if (!match) return;
        cleanUp();
        resolve(match);
      };
      const timer = setTimeout(() => {
        cleanUp();
        reject(new Error(`no ${pattern} within ${timeoutMs} ms; stderr so far:\n${text}`));
      }, timeoutMs);
      const cleanUp = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  if (env.APP_FAIL_AT_START === '1') return { child, port: 0, stderr: () => text, waitFor, exited };
  const ready = await waitFor(/listening on 127\.0\.0\.1:(\d+) with \d+ workers/);
  return { child, port: Number(ready[1]), stderr: () => text, waitFor, exited };
}

interface Client {
  socket: net.Socket;
  slot: number;
  pid: number;
  echo: (text: string) => Promise<string>;
}

/** Connects and reads the greeting `<slot> <pid>` that tells which worker took the connection. */
async function connect(port: number): Promise<Client> {
  const socket = net.connect(port, '127.0.0.1');
  onTestFinished(() => void socket.destroy());
  socket.setEncoding('utf8');
  let buffered = '';
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      lines.push(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
    wake?.();
  });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply within 5 s')), 5000);
      const check = () => {
        if (lines.length === 0) return;
        clearTimeout(timer);
        wake = undefined;
        resolve(lines.shift()!);
      };
      wake = check;
      check();
    });
  const [slot, pid] = (await nextLine()).split(' ').map(Number) as [number, number];
  return {
    socket,
    slot,
    pid,
    echo: async (text) => {
      socket.write(`${text}\n`);
      return nextLine();
    },
  };
}

/** Opens connections until one lands on each of the two workers (round-robin makes this quick). */
async function oneOnEachWorker(port: number): Promise<[Client, Client]> {
  const bySlot = new Map<number, Client>();
  for (let attempt = 0; attempt < 20 && bySlot.size < 2; attempt++) {
    const client = await connect(port);
    if (bySlot.has(client.slot)) client.socket.destroy();
    else bySlot.set(client.slot, client);
  }
  expect([...bySlot.keys()].sort()).toEqual([1, 2]);
  return [bySlot.get(1)!, bySlot.get(2)!];
}

describe('superviseWorkers with two workers', () => {
  test('a worker killed with SIGKILL is replaced and logged while the other keeps its connection', async () => {
    const app = await startApp();
    const [first, second] = await oneOnEachWorker(app.port);
    process.kill(first.pid, 'SIGKILL');
    const died = await app.waitFor(
      new RegExp(
        `^tlsecho: worker w1 \\(pid ${first.pid}\\) was killed by SIGKILL after \\S+; restarting it in 100ms$`,
        'm',
      ),
    );
    const restarted = await app.waitFor(/^worker w1 restarted \(pid (\d+)\)$/m);
    // The death is logged once, before the restart it announces, and the new worker is a new process.
    expect(died.index!).toBeLessThan(restarted.index!);
    expect(app.stderr().match(/was killed by SIGKILL/g)).toHaveLength(1);
    expect(Number(restarted[1])).not.toBe(first.pid);
    // The connection held by the other worker never noticed.
    expect(await second.echo('still here')).toBe('still here');
    // New connections reach both workers again, the new w1 included.
    const [newFirst, newSecond] = await oneOnEachWorker(app.port);
    expect(newFirst.pid).toBe(Number(restarted[1]));
    expect(await newFirst.echo('hello')).toBe('hello');

    // A second death soon after the restart doubles the delay.
    process.kill(newFirst.pid, 'SIGKILL');
    await app.waitFor(
      new RegExp(
        `worker w1 \\(pid ${newFirst.pid}\\) was killed by SIGKILL after \\S+; restarting it in 200ms`,
      ),
    );
    await app.waitFor(/worker w1 restarted[^\n]*\n[\s\S]*worker w1 restarted/);
    for (const client of [second, newSecond]) client.socket.end();
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
  });

  test('SIGTERM drains every worker: open connections finish, then the primary exits 0', async () => {
    const app = await startApp();
    const [first, second] = await oneOnEachWorker(app.port);
    app.child.kill('SIGTERM');
    await app.waitFor(/^\[w1\] draining 1 connections$/m);
    await app.waitFor(/^\[w2\] draining 1 connections$/m);
    // Draining: the exchanges in flight still work, and no new connection is accepted.
    expect(await first.echo('in flight')).toBe('in flight');
    expect(await second.echo('also')).toBe('also');
    first.socket.end();
    second.socket.end();
    expect(await app.exited).toBe(0);
    expect(app.stderr()).toMatch(/^SIGTERM: stopping 2 workers \(draining for up to 5s\)$/m);
  });

  test('Ctrl-C on the whole process group drains once instead of stopping at once', async () => {
    const app = await startApp({}, { detached: true });
    const [first, second] = await oneOnEachWorker(app.port);
    process.kill(-app.child.pid!, 'SIGINT');
    await app.waitFor(/^\[w1\] draining 1 connections$/m);
    expect(await first.echo('after ctrl-c')).toBe('after ctrl-c');
    first.socket.end();
    second.socket.end();
    expect(await app.exited).toBe(0);
    expect(app.stderr()).not.toMatch(/stopping now/);
  });

  test('a second SIGTERM stops the workers at once', async () => {
    const app = await startApp();
    const [first] = await oneOnEachWorker(app.port);
    app.child.kill('SIGTERM');
    await app.waitFor(/^\[w\d\] draining 1 connections$/m);
    app.child.kill('SIGTERM');
    await app.waitFor(/^tlsecho: warning: SIGTERM again: stopping workers now$/m);
    await once(first.socket, 'close');
    expect(await app.exited).toBe(0);
  });

  test('--max-accepts counts connections closed on all workers, then stops with exit 0', async () => {
    const app = await startApp({ APP_MAX_ACCEPTS: '3' });
    const clients = await oneOnEachWorker(app.port);
    const third = await connect(app.port);
    for (const client of [...clients, third]) {
      client.socket.end();
      await once(client.socket, 'close');
    }
    expect(new Set([...clients, third].map((client) => client.slot))).toEqual(new Set([1, 2]));
    expect(await app.exited).toBe(0);
    expect(app.stderr()).toMatch(/^3 connections closed \(--max-accepts 3\); stopping$/m);
  });

  test('a worker that fails before listening stops the cluster with its exit code, without restart loops', async () => {
    const app = await startApp({ APP_FAIL_AT_START: '1' });
    expect(await app.exited).toBe(3);
    expect(app.stderr()).toMatch(/^\[w\d\] tlsecho: cannot start: test failure$/m);
    expect(app.stderr()).toMatch(
      /^tlsecho: worker w\d \(pid \d+\) exited with code 3 before listening; stopping$/m,
    );
    expect(app.stderr()).not.toMatch(/restarting/);
  });

  test('JSON logs carry the worker number; every worker got the setup the primary prepared', async () => {
    const app = await startApp({ APP_JSON: '1', APP_TOKEN: 'abc' });
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    const lines = app
      .stderr()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; worker?: number });
    const workerLines = lines.filter((line) => line.msg === 'worker listening with token abc');
    expect(workerLines.map((line) => line.worker).sort()).toEqual([1, 2]);
    expect(lines.find((line) => line.msg.startsWith('listening on'))?.worker).toBeUndefined();
  });
});
