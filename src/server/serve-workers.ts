import { fingerprintOfPem } from '../certs/fingerprint.js';
import { useColor, type Io } from '../io.js';
import { createLogger } from '../log/logger.js';
import { TlsechoError } from '../errors.js';
import type { ExitCode } from '../exit-codes.js';
import {
  leaveCluster,
  perWorkerMaxConnections,
  reportConnectionClosed,
  requestSetup,
  superviseWorkers,
  workerSlot,
  workerIo,
} from './cluster.js';
import { loadServerCredentials, type ServerCredentials } from './credentials.js';
import { serve, type ServeOptions } from './serve.js';
import { formatAddress } from './server.js';

/** `tlsecho serve --workers N`: the serve options plus the number of worker processes. */
export interface ServeWorkersOptions extends ServeOptions {
  /** Workers run the handler named on the command line: a spec each process can load. */
  handler: string;
  workers: number;
}

/** What the primary prepares once and every worker asks for (see `requestSetup`). */
interface WorkerSetup {
  credentials: ServerCredentials;
}

/**
 * Runs `serve` in `workers` processes behind one listening socket. In the primary: loads the credentials
 * once (asking for a key's passphrase at most once), makes one ephemeral certificate for all workers when
 * none is given (so a pinned fingerprint holds whichever worker answers), then supervises. In a worker:
 * the ordinary serve path with the primary's credentials, its share of `--max-connections`, and no
 * `--max-accepts` of its own (the primary counts across workers).
 */
export async function serveWithWorkers(options: ServeWorkersOptions, io: Io): Promise<void> {
  const slot = workerSlot(io.env);
  if (slot === undefined) await runPrimary(options, io);
  else await runWorker(options, slot, io);
}

async function runWorker(options: ServeWorkersOptions, slot: number, io: Io): Promise<void> {
  try {
    const { credentials } = await requestSetup<WorkerSetup>();
    await serve(
      {
        ...options,
        credentials,
        maxAccepts: undefined,
        maxConnections: perWorkerMaxConnections(options.maxConnections, options.workers),
        logBase: { worker: slot, pid: process.pid },
        announceWhenQuiet: false,
        onServer: (server) => server.on('disconnect', reportConnectionClosed),
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
  // As in serve: --quiet keeps the lines needed to connect.
  const announcer = log.enabled('info')
    ? log
    : createLogger(io.stderr, {
        json: options.json,
        level: 'info',
        color: useColor(io, { json: options.json, color: options.color }),
      });
  let credentials = await loadServerCredentials(options, io);
  let ephemeral = false;
  if (credentials.cert === undefined) {
    // Loaded on demand: the X.509 library costs ~150 ms at start-up, and most runs have a certificate.
    const { generateEphemeralServerCert } = await import('../certs/generate.js');
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
      drainTimeoutMs: options.drainTimeoutMs,
      maxAccepts: options.maxAccepts,
      setup: { credentials } satisfies WorkerSetup,
      onReady: (address) => {
        const bound = formatAddress(address.address, address.port);
        if (ephemeral) {
          const command = `tlsecho connect --pin ${fingerprint} ${formatAddress(connectHost(address.address), address.port)}`;
          announcer.info(
            `no certificate given and none in certs/: every worker uses one ephemeral self-signed certificate for localhost, 127.0.0.1 and ::1 (${fingerprint})`,
            { event: 'certificate', ephemeral: true, fingerprint },
          );
          announcer.info(`verify it with: ${command}`, { event: 'connect-command', fingerprint, command });
        }
        announcer.info(
          `listening on ${bound} with ${workers} ${workers === 1 ? 'worker' : 'workers'} (packet ${options.packet}, ${options.handler}${options.proxyProtocol ? ', PROXY protocol' : ''})`,
          {
            event: 'listening',
            address: address.address,
            port: address.port,
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

// A wildcard address is not something to connect to; the loopback of the same family is.
function connectHost(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '::1';
  return address;
}
