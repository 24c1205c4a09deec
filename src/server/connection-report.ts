// What a connection reports about itself: who it is once the handshake is done, each message for
// `--verbose`, and at the end how it went and why it closed. Logs, events and the library API read these.
import type { ClientIdentity, HandlerExit } from './handlers/types.js';

/** Why a connection closed, as logs and `disconnect` events name it. */
export type CloseReason =
  | 'client-closed'
  | 'idle-timeout'
  | 'too-large'
  | 'protocol-error'
  | 'handler-failed'
  | 'handler-exited'
  | 'too-slow'
  | 'shutdown'
  | 'error';

/** A connection that completed its handshake. */
export interface ConnectionInfo {
  id: number;
  remoteAddress: string;
  remotePort: number;
  /** False for a plain TCP connection (a listener with `plain`): no protocol, cipher or ALPN then. */
  encrypted?: boolean;
  /** e.g. `TLSv1.3` */
  protocol: string | null;
  /** e.g. `TLS_AES_256_GCM_SHA384`; `none` over plain TCP */
  cipher: string;
  alpnProtocol: string | false;
  client: ClientIdentity | undefined;
}

/** A closed connection: who, how long, how much, and why it ended. */
export interface ConnectionSummary {
  id: number;
  remoteAddress: string;
  remotePort: number;
  client: ClientIdentity | undefined;
  reason: CloseReason;
  /** What went wrong, for reasons other than client-closed, idle-timeout and shutdown. */
  error: Error | undefined;
  /** Set when an `exec:` child exited. */
  handlerExit: HandlerExit | undefined;
  durationMs: number;
  framesIn: number;
  framesOut: number;
  /** Messages meant for this client that were not sent because it was not keeping up (`--broadcast-drop`). */
  framesDropped: number;
  /** Framed bytes (headers included) received and sent over TLS. */
  bytesIn: number;
  bytesOut: number;
}

/** One message on its way in or out, for `--verbose`. */
export interface MessageTrace {
  id: number;
  direction: 'in' | 'out';
  message: Buffer;
}
