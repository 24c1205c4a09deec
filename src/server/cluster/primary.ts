import cluster, { type Address, type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { ExitCode } from '../../exit-codes.js';
import type { Io } from '../../io.js';
import type { Logger } from '../../log/logger.js';
import { formatDuration } from '../../units.js';
import {
  CONNECTION_CLOSED_MESSAGE,
  isListeningMessage,
  SETUP_REQUEST_MESSAGE,
  setupMessage,
  STOP_MESSAGE,
  WORKER_SLOT_ENV,
} from './messages.js';
import { relayLines, workerLabel } from './relay.js';

// `tlsecho serve --workers N`: one primary process supervises N workers that share the listening socket
// through node:cluster (on Linux the primary accepts and hands connections out round-robin). Each worker
// runs the ordinary serve path; the primary only starts, restarts, counts and stops them.

/**
 * Restart delays for a worker that died: 100 ms doubling to 5 s, so a worker that crashes at once does not
 * spin the CPU, and back to 100 ms once a worker has stayed up for 10 s (as systemd's and Erlang
 * supervisors' restart intensity do, a crash after a long healthy run is not a crash loop).
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 5_000, stableMs: 10_000 };

/** Added to --drain-timeout before the primary kills workers that did not stop on their own. */
export const DRAIN_MARGIN_MS = 2_000;

/** Where a worker finds the first of `SupervisorOptions.inheritFds`: right after stdio and the cluster channel. */
export const WORKER_INHERITED_FDS_START = 4;

export interface SupervisorOptions {
  workers: number;
  /** How long workers may drain on SIGTERM; the primary waits this plus DRAIN_MARGIN_MS. */
  drainTimeoutMs: number;
  /** Stop every worker once this many connections have closed, across all of them. */
  maxAccepts?: number;
  /** Extra environment for every worker. */
  env?: Record<string, string>;
  backoff?: Partial<BackoffOptions>;
  /**
   * The script and arguments each worker runs. A program that supervises itself passes its own
   * (`process.argv[1]` and the arguments after it), so each worker re-runs the same command and finds its
   * slot with `workerSlot()`.
   */
  exec: string;
  args: string[];
  /**
   * Sent to each worker that asks (`requestSetup`): what the primary prepared once for all of them, such
   * as credentials it loaded or a certificate it made. Over IPC rather than the environment, so secrets do
   * not reach the workers' child processes.
   */
  setup?: unknown;
  /**
   * Descriptors of the primary that every worker gets as well, at WORKER_INHERITED_FDS_START onwards (fd 3
   * is the cluster channel): a listening socket passed by systemd, which each worker then listens on
   * itself. The primary never opens them, so they stay open across worker restarts; with node:cluster
   * brokering `listen({ fd })` instead, the primary would close the socket when its last worker died.
   */
  inheritFds?: number[];
  /** Called once, when every worker is listening: the place for the readiness line. */
  onReady?: (address: AddressInfo) => void;
}

/** How supervision ended. */
export interface SupervisorResult {
  exitCode: number;
  /** Why the cluster could not start, when a worker failed before every worker was listening. */
  failure?: string;
}

interface Slot {
  id: number;
  worker: Worker | undefined;
  pid: number | undefined;
  startedAt: number;
  /** Consecutive deaths without a stable run in between. */
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
  listening: boolean;
  /** Set once this slot's worker died and was restarted, so its next `listening` is announced. */
  restarted: boolean;
}

/**
 * The primary's side: forks the workers, restarts any that die (with back-off, logged), counts closed
 * connections for `maxAccepts`, and on SIGINT/SIGTERM tells every worker to drain and waits for them. A
 * second signal is passed on too, which a worker's serve path takes as "stop now". Workers that have not
 * stopped after the drain timeout plus DRAIN_MARGIN_MS are killed.
 * Resolves with the exit code: 0 after a clean stop; a worker's own code if one fails before the cluster
 * was ever ready (a bad certificate or a port in use is the same in every worker, so restarting is futile).
 */
export function superviseWorkers(options: SupervisorOptions, io: Io, log: Logger): Promise<SupervisorResult> {
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const slots: Slot[] = [];
  let ready = false;
  let stopping = false;
  let exitCode: number = ExitCode.OK;
  let failure: string | undefined;
  let closedConnections = 0;
  let killTimer: NodeJS.Timeout | undefined;
  let finish: (result: SupervisorResult) => void = () => {};
  const done = new Promise<SupervisorResult>((resolve) => {
    finish = resolve;
  });

  cluster.setupPrimary({
    exec: options.exec,
    args: options.args,
    // Workers' output comes through the primary, which labels every line with the worker's number:
    // the serve path's log lines, and also what the CLI prints when a worker fails, or Node's warnings.
    silent: true,
    stdio: ['pipe', 'pipe', 'pipe', 'ipc', ...(options.inheritFds ?? [])],
  });

  const fork = (slot: Slot) => {
    slot.restartTimer = undefined;
    slot.listening = false;
    slot.startedAt = Date.now();
    const worker = cluster.fork({ ...options.env, [WORKER_SLOT_ENV]: String(slot.id) });
    slot.worker = worker;
    slot.pid = worker.process.pid;
    relayLines(worker.process.stderr!, io.stderr, slot.id, log.json);
    worker.process.stdout!.pipe(io.stdout, { end: false });
    // 'close' comes after the worker's output is all relayed, so its last words precede the primary's.
    worker.process.once('close', (code: number | null, signal: NodeJS.Signals | null) =>
      onExit(worker, code, signal),
    );
    worker.on('message', (message: unknown) => onMessage(worker, message));
    worker.on('error', (error: Error) => {
      log.error(`worker ${workerLabel(slot.id)}: ${error.message}`, { worker: slot.id });
    });
  };

  const slotOf = (worker: Worker) => slots.find((slot) => slot.worker === worker);

  // node:cluster reports listens it brokered. A worker listening on an inherited descriptor does so on
  // its own (see `inheritFds`), and node:cluster never hears of it: that worker's own report
  // (`reportListening`, handled in onMessage) marks it ready instead.
  const onClusterListening = (worker: Worker, address: Address) => {
    onListening(worker, {
      address: address.address ?? '',
      port: address.port,
      family: address.addressType === 6 ? 'IPv6' : 'IPv4',
    });
  };

  const onListening = (worker: Worker, address: AddressInfo) => {
    const slot = slotOf(worker);
    if (!slot || slot.listening) return;
    slot.listening = true;
    if (slot.restarted) {
      log.info(`worker ${workerLabel(slot.id)} restarted (pid ${slot.pid})`, {
        worker: slot.id,
        pid: slot.pid,
      });
    }
    if (!ready && slots.every((each) => each.listening)) {
      ready = true;
      options.onReady?.(address);
    }
  };

  const onExit = (worker: Worker, code: number | null, signal: string | null) => {
    const slot = slotOf(worker);
    if (!slot) return;
    slot.worker = undefined;
    slot.listening = false;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const fields = { worker: slot.id, pid: slot.pid, code, signal };
    if (stopping) {
      if (code !== 0 && code !== null && exitCode === ExitCode.OK) exitCode = code;
      // After a failed start the others fail alike or are stopped half-way: the failure says it all.
      if (code !== 0 && failure === undefined)
        log.warn(`worker ${workerLabel(slot.id)} (pid ${slot.pid}) ${how} while stopping`, fields);
      if (slots.every((each) => each.worker === undefined)) finishStopping();
      return;
    }
    if (!ready) {
      // The worker printed its own error; every worker would fail the same way, so the caller reports it.
      failure = `worker ${workerLabel(slot.id)} (pid ${slot.pid}) ${how} before listening`;
      exitCode = code || ExitCode.INTERNAL;
      stop();
      return;
    }
    const uptimeMs = Date.now() - slot.startedAt;
    if (uptimeMs >= backoff.stableMs) slot.failures = 0;
    const delayMs = Math.min(backoff.maxMs, backoff.initialMs * 2 ** slot.failures);
    slot.failures += 1;
    slot.restarted = true;
    log.error(
      `worker ${workerLabel(slot.id)} (pid ${slot.pid}) ${how} after ${formatDuration(uptimeMs)}; restarting it in ${formatDuration(delayMs)}`,
      { ...fields, uptimeMs, restartInMs: delayMs },
    );
    slot.restartTimer = setTimeout(() => fork(slot), delayMs);
  };

  const onMessage = (worker: Worker, message: unknown) => {
    if (isListeningMessage(message)) {
      if (!slotOf(worker)?.listening) onListening(worker, message);
      return;
    }
    if (message === SETUP_REQUEST_MESSAGE) {
      if (worker.isConnected()) worker.send(setupMessage(options.setup), (error: Error | null) => void error);
      return;
    }
    if (message !== CONNECTION_CLOSED_MESSAGE) return;
    closedConnections += 1;
    if (options.maxAccepts !== undefined && closedConnections >= options.maxAccepts && !stopping) {
      log.info(`${closedConnections} connections closed (--max-accepts ${options.maxAccepts}); stopping`);
      stop();
    }
  };

  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const slot of slots) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
    }
    const running = slots.filter((slot) => slot.worker !== undefined);
    if (running.length === 0) {
      finishStopping();
      return;
    }
    for (const slot of running) tellToStop(slot);
    killTimer = setTimeout(() => {
      for (const slot of slots) {
        if (!slot.worker) continue;
        log.error(
          `worker ${workerLabel(slot.id)} (pid ${slot.pid}) did not stop within ${formatDuration(options.drainTimeoutMs + DRAIN_MARGIN_MS)}; killing it`,
          { worker: slot.id, pid: slot.pid },
        );
        exitCode = ExitCode.INTERNAL;
        slot.worker.process.kill('SIGKILL');
      }
    }, options.drainTimeoutMs + DRAIN_MARGIN_MS);
  };

  const tellToStop = (slot: Slot) => {
    const worker = slot.worker;
    // A worker whose channel is gone is already on its way out (cluster workers exit on disconnect).
    if (worker?.isConnected()) worker.send(STOP_MESSAGE, (error: Error | null) => void error);
  };

  const finishStopping = () => {
    clearTimeout(killTimer);
    cluster.off('listening', onClusterListening);
    unsubscribe.forEach((off) => off());
    finish(failure === undefined ? { exitCode } : { exitCode, failure });
  };

  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => () => {
    if (!stopping) {
      log.info(
        `${signal}: stopping ${options.workers} workers (draining for up to ${formatDuration(options.drainTimeoutMs)})`,
      );
      stop();
      return;
    }
    log.warn(`${signal} again: stopping workers now`);
    for (const slot of slots) tellToStop(slot);
  };
  const unsubscribe = [
    io.onSignal('SIGINT', onSignal('SIGINT')),
    io.onSignal('SIGTERM', onSignal('SIGTERM')),
  ];

  cluster.on('listening', onClusterListening);
  for (let id = 1; id <= options.workers; id++) {
    const slot: Slot = {
      id,
      worker: undefined,
      pid: undefined,
      startedAt: 0,
      failures: 0,
      restartTimer: undefined,
      listening: false,
      restarted: false,
    };
    slots.push(slot);
    fork(slot);
  }
  return done;
}
