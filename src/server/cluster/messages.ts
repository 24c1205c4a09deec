// What a `--workers` primary and its workers tell each other: the messages on node:cluster's IPC channel,
// and the one value the primary hands each worker through its environment.

/** Names the worker's slot (1..N) in its environment; not `TLSECHO_*`, which yargs reads as flags. */
export const WORKER_SLOT_ENV = '_TLSECHO_WORKER_SLOT';

/** A worker tells the primary that one of its connections closed. */
export const CONNECTION_CLOSED_MESSAGE = 'tlsecho:connection-closed';
/** The primary tells a worker to stop: the first time drains, the second stops at once (like signals). */
export const STOP_MESSAGE = 'tlsecho:stop';
/** A worker asks for its setup; the primary answers with a SetupMessage. */
export const SETUP_REQUEST_MESSAGE = 'tlsecho:setup-request';

const SETUP_TYPE = 'tlsecho:setup';

/** The primary's answer to SETUP_REQUEST_MESSAGE: what it prepared once for every worker. */
export interface SetupMessage {
  type: typeof SETUP_TYPE;
  data: unknown;
}

export function setupMessage(data: unknown): SetupMessage {
  return { type: SETUP_TYPE, data };
}

export function isSetupMessage(message: unknown): message is SetupMessage {
  return (message as SetupMessage | undefined)?.type === SETUP_TYPE;
}

const LISTENING_TYPE = 'tlsecho:listening';

/**
 * A worker tells the primary the address its server is bound to. node:cluster's own `listening` event
 * carries the address the worker asked for, which for a socket given by descriptor (systemd socket
 * activation) is none, only a port; this message carries the real one.
 */
export interface ListeningMessage {
  type: typeof LISTENING_TYPE;
  address: string;
  port: number;
  family: string;
}

export function listeningMessage(address: {
  address: string;
  port: number;
  family: string;
}): ListeningMessage {
  return { type: LISTENING_TYPE, address: address.address, port: address.port, family: address.family };
}

export function isListeningMessage(message: unknown): message is ListeningMessage {
  return (message as ListeningMessage | undefined)?.type === LISTENING_TYPE;
}
