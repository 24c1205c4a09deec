import { once } from 'node:events';
import { describe, expect, test } from 'vitest';
import { makeTempDir } from '../helpers/tmpdir.js';
import { connectClient, startTlsecho, until, writePki, type Client, type Tlsecho } from './helpers.js';

// `tlsecho serve --workers 2` as a real process tree: a primary and two workers sharing one port.

/** Which worker (1 or 2) logged this client as accepted, and that worker's pid. */
function workerOf(server: Tlsecho, client: Client): { worker: number; pid: number } | undefined {
  const accepted = server
    .events()
    .find((event) => event.event === 'accepted' && event.remotePort === client.localPort);
  return accepted ? { worker: accepted.worker!, pid: accepted.pid! } : undefined;
}

/** Opens clients until one is held by each worker (the primary hands connections out round-robin). */
async function oneClientPerWorker(server: Tlsecho, caPem: string): Promise<Map<number, Client>> {
  const byWorker = new Map<number, Client>();
  for (let attempt = 0; attempt < 10 && byWorker.size < 2; attempt++) {
    const client = await connectClient(server.port, caPem);
    expect(await client.echo('which worker?')).toBe('which worker?');
    const { worker } = await until(() => workerOf(server, client), 'the accepted line of a client');
    if (byWorker.has(worker)) client.socket.end();
    else byWorker.set(worker, client);
  }
  expect([...byWorker.keys()].sort()).toEqual([1, 2]);
  return byWorker;
}

describe('tlsecho serve --workers 2', () => {
  test('a worker killed with SIGKILL is replaced, the other keeps its clients, SIGTERM drains all and exits 0', async () => {
    const dir = await makeTempDir();
    const pki = await writePki(dir);
    const server = await startTlsecho([
      '--workers',
      '2',
      '--port',
      '0',
      '--cert',
      pki.certFile,
      '--key',
      pki.keyFile,
      '--json',
    ]);
    const clients = await oneClientPerWorker(server, pki.caPem);
    const doomed = workerOf(server, clients.get(1)!)!;
    const survivor = clients.get(2)!;

    process.kill(doomed.pid, 'SIGKILL');
    const death = await server.waitForEvent(
      (event) => event.msg.startsWith(`worker w1 (pid ${doomed.pid}) was killed by SIGKILL`),
      'the death of worker 1',
    );
    expect(death.msg).toMatch(/; restarting it in 100ms$/);
    expect(death.level).toBe('error');
    // The other worker's client goes on as if nothing happened.
    expect(await survivor.echo('still here')).toBe('still here');
    const restarted = await server.waitForEvent(
      (event) => event.msg.startsWith('worker w1 restarted'),
      'a new worker 1',
    );
    const newPid = Number(/\(pid (\d+)\)/.exec(restarted.msg)![1]);
    expect(newPid).not.toBe(doomed.pid);
    // The new worker 1 takes connections again.
    const fresh = await oneClientPerWorker(server, pki.caPem);
    expect(workerOf(server, fresh.get(1)!)!.pid).toBe(newPid);
    for (const client of fresh.values()) client.socket.end();

    // An exchange in flight when SIGTERM comes: half a frame sent...
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('drain')]);
    survivor.socket.write(frame.subarray(0, 6));
    server.child.kill('SIGTERM');
    await server.waitForEvent(
      (event) => event.event === 'shutdown' && event.worker === 2,
      'worker 2 draining',
    );
    // ...finishes after it, then the worker closes the connection and everything exits 0.
    const reply = once(survivor.socket, 'data');
    survivor.socket.write(frame.subarray(6));
    expect(((await reply)[0] as Buffer).subarray(4).toString()).toBe('drain');
    await once(survivor.socket, 'close');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.events().at(-1)?.msg).toBe('stopped');
  });
});
