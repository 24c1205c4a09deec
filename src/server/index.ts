// The server as a library: what `src/index.ts` re-exports.
export {
  createServer,
  formatAddress,
  SERVER_DEFAULTS,
  TlsechoServer,
  type HandlerOutput,
  type RefusedConnection,
  type ServerCertificate,
  type ServerEvents,
  type ServerOptions,
  type ServerStats,
} from './server.js';
export type { CloseReason, ConnectionInfo, ConnectionSummary, MessageTrace } from './connection-report.js';
export type { HandshakeFailure, HandshakeFailureKind } from './handshake-failure.js';
export {
  BROADCAST_WORKERS_CONFLICT,
  createBroadcastHandler,
  createExecHandler,
  echoHandler,
  EXEC_FRAMINGS,
  fromMessageHandler,
  loadModuleHandler,
  resolveHandler,
  type BroadcastOptions,
  type ExecFraming,
  type ExecHandlerOptions,
  type HandlerHooks,
  type HandlerSpec,
} from './handlers/index.js';
export type {
  ClientIdentity,
  Handler,
  HandlerContext,
  HandlerExit,
  HandlerSession,
  MessageHandler,
  ModuleHandlerContext,
  Replies,
  Reply,
  SessionContext,
} from './handlers/types.js';
export { previewBytes } from './preview.js';
