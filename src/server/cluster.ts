import cluster, { type Address, type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import type { Logger } from '../log/logger.js';
import { formatDuration } from '../units.js';

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

/** Names the worker's slot (1..N) in its environment; not `TLSECHO_*`, which yargs reads as flags. */
export const WORKER_SLOT_ENV = '_TLSECHO_WORKER_SLOT';

/** A worker tells the primary over the cluster IPC channel that one of its connections closed. */
const CONNECTION_CLOSED_MESSAGE = 'tlsecho:connection-closed';
/** The primary tells a worker to stop: the first time drains, the second stops at once (like signals). */
const STOP_MESSAGE = 'tlsecho:stop';
/** A worker asks for its setup; the primary answers with a SetupMessage. */
const SETUP_REQUEST_MESSAGE = 'tlsecho:setup-request';
interface SetupMessage {
  type: 'tlsecho:setup';
  data: unknown;
}

/** `--workers`: a count or `auto` (one per core the process may use), validated. */
/**
 * How per-server limits split across workers. `--max-connections` is a per-process limit enforced where
 * the sockets live, so each worker gets an equal share, rounded up so no worker gets zero (with 4 workers,
 * `--max-connections 10` lets each hold 3). `--max-accepts` is counted by the primary across all workers.
 */
export function perWorkerMaxConnections(total: number, workers: number): number {
  return Math.ceil(total / workers);
}

export interface SupervisorOptions {
  workers: number;
  /** How long workers may drain on SIGTERM; the primary waits this plus DRAIN_MARGIN_MS. */
  drainTimeoutMs: number;
  /** Stop every worker once this many connections have closed, across all of them. */
  maxAccepts?: number;
  /** Extra environment for every worker. */
  env?: Record<string, string>;
  backoff?: Partial<BackoffOptions>;
  /** Script and arguments each worker runs; default this process's own, so workers re-run the command. */
  exec?: string;
  args?: string[];
  /**
   * Sent to each worker that asks (`requestSetup`): what the primary prepared once for all of them, such
   * as credentials it loaded or a certificate it made. Over IPC rather than the environment, so secrets do
   * not reach the workers' child processes.
   */
  setup?: unknown;
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

/** `w1`, as logs name workers. */
export function workerLabel(slot: number): string {
  return `w${slot}`;
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
    exec: options.exec ?? process.argv[1],
    args: options.args ?? process.argv.slice(2),
    // Workers' output comes through the primary, which labels every line with the worker's number:
    // the serve path's log lines, and also what the CLI prints when a worker fails, or Node's warnings.
    silent: true,
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

  const onListening = (worker: Worker, address: Address) => {
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
      options.onReady?.({
        address: address.address ?? '',
        port: address.port,
        family: address.addressType === 6 ? 'IPv6' : 'IPv4',
      });
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
    if (message === SETUP_REQUEST_MESSAGE) {
      const reply: SetupMessage = { type: 'tlsecho:setup', data: options.setup };
      if (worker.isConnected()) worker.send(reply, (error: Error | null) => void error);
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
    cluster.off('listening', onListening);
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

  cluster.on('listening', onListening);
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
      if ((message as SetupMessage | undefined)?.type !== 'tlsecho:setup') return;
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve((message as SetupMessage).data as T);
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

/** Copies a worker's output to `target` line by line, each labelled with `labelLine`. */
export function relayLines(source: Readable, target: Io['stderr'], slot: number, json: boolean): void {
  source.setEncoding('utf8');
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  lines.on('line', (line) => target.write(`${labelLine(line, slot, json)}\n`));
}

/**
 * One line of a worker's output as the primary prints it: `[w1] ` in front of text; with `--json`, a
 * `"worker": 1` field in JSON lines that lack one (the CLI's own error line), and anything that is not
 * JSON (a Node warning, a stack trace) wrapped in a JSON line, so stderr stays one JSON object per line.
 */
export function labelLine(line: string, slot: number, json: boolean): string {
  if (!json) return `[${workerLabel(slot)}] ${line}`;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      if ('worker' in parsed) return line;
      const { time, level, ...rest } = parsed as Record<string, unknown>;
      return JSON.stringify({ time, level, worker: slot, ...rest });
    }
  } catch {
    // Not JSON: wrapped below.
  }
  return JSON.stringify({ time: new Date().toISOString(), level: 'warn', worker: slot, msg: line });
}
