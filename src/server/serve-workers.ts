import { fingerprintOfPem } from '../certs/fingerprint.js';
import { generateEphemeralServerCert } from '../certs/generate-on-demand.js';
import { useColor, type Io } from '../io.js';
import { createLogger } from '../log/logger.js';
import { TlsechoError, UsageError } from '../errors.js';
import type { ExitCode } from '../exit-codes.js';
import { superviseWorkers, WORKER_INHERITED_FDS_START } from './cluster/primary.js';
import {
  leaveCluster,
  reportConnectionClosed,
  reportListening,
  requestSetup,
  workerIo,
  workerSlot,
} from './cluster/worker.js';
import { announceEphemeralCertificate, connectLinesLogger } from './connect-lines.js';
import { loadServerCredentials, type ServerCredentials } from './credentials.js';
import { serve, type ServeOptions } from './serve.js';
import { BROADCAST_WORKERS_CONFLICT } from './defaults.js';
import { formatAddress } from './server.js';

/** `tlsecho serve --workers N`: the serve options plus the number of worker processes. */
export interface ServeWorkersOptions extends ServeOptions {
  /** Workers run the handler named on the command line: a spec each process can load. */
  handler: string;
  workers: number;
  /**
   * The script and arguments each worker runs: the command that started the primary, so that every
   * worker runs it again and takes the worker's path (see `SupervisorOptions.exec`).
   */
  workerExec: string;
  workerArgs: string[];
}

/**
 * How per-server limits split across workers. `--max-connections` is a per-process limit enforced where
 * the sockets live, so each worker gets an equal share, rounded up so no worker gets zero (with 4 workers,
 * `--max-connections 10` lets each hold 3). `--max-accepts` is counted by the primary across all workers.
 */
export function perWorkerMaxConnections(total: number, workers: number): number {
  return Math.ceil(total / workers);
}

/** What the primary prepares once and every worker asks for (see `requestSetup`). */
interface WorkerSetup {
  credentials: ServerCredentials;
  /**
   * Where the worker finds the socket systemd passed the primary (socket activation): the primary's fd 3
   * is the cluster channel in a worker, so each worker gets a copy of the socket at its own number
   * (`inheritFds`) and listens on it; the kernel hands each connection to one of them.
   */
  listenFd?: number;
}

/**
 * Runs `serve` in `workers` processes behind one listening socket. In the primary: loads the credentials
 * once (asking for a key's passphrase at most once), makes one ephemeral certificate for all workers when
 * none is given (so a pinned fingerprint holds whichever worker answers), then supervises. In a worker:
 * the ordinary serve path with the primary's credentials, its share of `--max-connections`, and no
 * `--max-accepts` of its own (the primary counts across workers).
 */
export async function serveWithWorkers(options: ServeWorkersOptions, io: Io): Promise<void> {
  if (options.handler.trim() === 'broadcast') throw new UsageError(BROADCAST_WORKERS_CONFLICT);
  const slot = workerSlot(io.env);
  if (slot === undefined) await runPrimary(options, io);
  else await runWorker(options, slot, io);
}

async function runWorker(options: ServeWorkersOptions, slot: number, io: Io): Promise<void> {
  try {
    const { credentials, listenFd } = await requestSetup<WorkerSetup>();
    await serve(
      {
        ...options,
        credentials,
        listenFd,
        maxAccepts: undefined,
        maxConnections: perWorkerMaxConnections(options.maxConnections, options.workers),
        logBase: { worker: slot, pid: process.pid },
        announceWhenQuiet: false,
        onServer: (server) => {
          server.on('listening', reportListening);
          server.on('disconnect', reportConnectionClosed);
        },
      },
      workerIo(io),
    );
  } finally {
    leaveCluster();
  }
}

async function runPrimary(options: ServeWorkersOptions, io: Io): Promise<void> {
  const log = createLogger(io.stderr, {
    json: options.json,
    level: options.logLevel,
    color: useColor(io, { json: options.json, color: options.color }),
  });
  const announcer = connectLinesLogger(log, io, options);
  let credentials = await loadServerCredentials(options, io);
  let ephemeral = false;
  if (credentials.cert === undefined) {
    const generated = await generateEphemeralServerCert();
    // certFile only names the certificate in each worker's log line.
    credentials = { ...credentials, cert: generated.certPem, key: generated.keyPem, certFile: 'ephemeral' };
    ephemeral = true;
  }
  const fingerprint = fingerprintOfPem(credentials.cert!);
  const { workers } = options;
  const result = await superviseWorkers(
    {
      workers,
      exec: options.workerExec,
      args: options.workerArgs,
      drainTimeoutMs: options.drainTimeoutMs,
      maxAccepts: options.maxAccepts,
      inheritFds: options.listenFd === undefined ? undefined : [options.listenFd],
      setup: {
        credentials,
        listenFd: options.listenFd === undefined ? undefined : WORKER_INHERITED_FDS_START,
      } satisfies WorkerSetup,
      onReady: (address) => {
        const bound = formatAddress(address.address, address.port);
        if (ephemeral) announceEphemeralCertificate(announcer, fingerprint, address, { workers: true });
        const inherited = options.listenFd === undefined ? '' : ', socket from systemd';
        announcer.info(
          `listening on ${bound} with ${workers} ${workers === 1 ? 'worker' : 'workers'} (packet ${options.packet}, ${options.handler}${options.proxyProtocol ? ', PROXY protocol' : ''}${inherited})`,
          {
            event: 'listening',
            address: address.address,
            port: address.port,
            ...(options.listenFd === undefined ? {} : { fd: options.listenFd }),
            workers,
            packet: options.packet,
            handler: options.handler,
            proxyProtocol: options.proxyProtocol ?? false,
            fingerprint,
          },
        );
      },
    },
    io,
    log,
  );
  if (result.failure !== undefined) {
    // The worker already printed why it failed; this names the worker and carries its exit code.
    throw new TlsechoError(`${result.failure}; stopped`, 'ERR_WORKER_FAILED', result.exitCode as ExitCode);
  }
  if (result.exitCode !== 0) {
    throw new TlsechoError(
      'some workers did not stop cleanly (see above)',
      'ERR_WORKER_FAILED',
      result.exitCode as ExitCode,
    );
  }
  log.info('stopped', { event: 'stopped' });
}
