import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { Io } from '../../io.js';
import { formatDuration } from '../../units.js';
import {
  CONNECTION_CLOSED_MESSAGE,
  isSetupMessage,
  listeningMessage,
  SETUP_REQUEST_MESSAGE,
  STOP_MESSAGE,
  WORKER_SLOT_ENV,
} from './messages.js';

// A worker's side of `tlsecho serve --workers N`: which slot it holds, the Io it serves with, the setup it
// asks the primary for, what it reports back, and how it leaves once its server has closed.

/** The slot (1..N) of this process when it is a worker started by `superviseWorkers`, else undefined. */
export function workerSlot(env: Io['env'] = process.env): number | undefined {
  if (!cluster.isWorker) return undefined;
  const slot = Number(env[WORKER_SLOT_ENV]);
  return Number.isInteger(slot) && slot > 0 ? slot : undefined;
}

/**
 * The Io a worker's serve path runs with. Stop requests come from the primary only, over IPC, as SIGTERM
 * would: the first drains, the second stops at once. The worker ignores SIGINT and SIGTERM itself because
 * both often reach every process at once (Ctrl-C signals the terminal's whole process group, systemd's
 * default KillMode the whole cgroup): were workers to act on them as well as on the primary's request,
 * they would count two signals and skip the drain. (Log lines need nothing here: the primary labels them.)
 */
export function workerIo(io: Io): Io {
  const ignore = () => {};
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);
  return {
    ...io,
    onSignal(signal, handler) {
      if (signal === 'SIGINT') return () => {};
      const onMessage = (message: unknown) => {
        if (message === STOP_MESSAGE) handler();
      };
      process.on('message', onMessage);
      return () => process.off('message', onMessage);
    },
  };
}

/** Asks the primary for the setup it prepared for every worker (`SupervisorOptions.setup`). */
export function requestSetup<T>(timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    if (!cluster.isWorker || !process.send) {
      reject(new Error('requestSetup() called outside a cluster worker'));
      return;
    }
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error(`the primary sent no setup within ${formatDuration(timeoutMs)}`));
    }, timeoutMs);
    const onMessage = (message: unknown) => {
      if (!isSetupMessage(message)) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(message.data as T);
    };
    process.on('message', onMessage);
    process.send(SETUP_REQUEST_MESSAGE);
  });
}

/**
 * Ends a worker's part in the cluster once its serve path has returned. The IPC channel to the primary
 * would otherwise keep the process alive after its server closed; disconnecting lets it exit with the
 * exit code the command set.
 */
export function leaveCluster(): void {
  const worker = cluster.worker;
  if (cluster.isWorker && worker?.isConnected()) worker.disconnect();
}

/** Tells the primary a connection closed, so it can count `--max-accepts` across workers. */
export function reportConnectionClosed(): void {
  if (cluster.isWorker) process.send?.(CONNECTION_CLOSED_MESSAGE);
}

/** Tells the primary the address this worker's server is bound to (see `ListeningMessage`). */
export function reportListening(address: AddressInfo): void {
  if (cluster.isWorker) process.send?.(listeningMessage(address));
}
