import type { Framing } from '../../codec/framing.js';
import { UsageError } from '../../errors.js';
import { createBroadcastHandler, type BroadcastOptions } from './broadcast.js';
import { echoHandler } from './echo.js';
import { createEtfEchoHandler } from './etf-echo.js';
import { createExecHandler, type ExecFraming } from './exec.js';
import { fromMessageHandler } from './message-handler.js';
import { loadModuleHandler, looksLikeModulePath } from './module.js';
import type { Handler, MessageHandler } from './types.js';

export { BROADCAST_WORKERS_CONFLICT, createBroadcastHandler, type BroadcastOptions } from './broadcast.js';
export { echoHandler } from './echo.js';
export { createEtfEchoHandler } from './etf-echo.js';
export { createExecHandler, EXEC_FRAMINGS, type ExecFraming, type ExecHandlerOptions } from './exec.js';
export { fromMessageHandler, type HandlerHooks } from './message-handler.js';
export { loadModuleHandler } from './module.js';
export type * from './types.js';

/** `echo`, `etf-echo`, `broadcast`, `exec:CMD`, a module path, a message function, or a ready Handler. */
export type HandlerSpec = string | MessageHandler | Handler;

interface ResolveHandlerOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  execFraming: ExecFraming;
  framing: Framing;
  /** How `broadcast` treats the sender and receivers that fall behind. */
  broadcast?: BroadcastOptions;
  onStderr?: (id: number, line: string) => void;
  onWarning?: (id: number, message: string) => void;
}

const EXEC_PREFIX = 'exec:';

/** Turns a `--handler` value (or a library user's function) into the Handler connections run. */
export async function resolveHandler(spec: HandlerSpec, options: ResolveHandlerOptions): Promise<Handler> {
  if (typeof spec === 'function') return fromMessageHandler(spec.name || 'function', spec);
  if (typeof spec === 'object') return spec;
  const text = spec.trim();
  if (text === 'echo') return echoHandler;
  if (text === 'etf-echo') return createEtfEchoHandler(options.framing.maxFrame);
  if (text === 'broadcast') return createBroadcastHandler(options.broadcast);
  if (text.startsWith(EXEC_PREFIX)) {
    const command = text.slice(EXEC_PREFIX.length).trim();
    if (command === '') throw new UsageError("invalid handler 'exec:': name a command, e.g. exec:cat");
    return createExecHandler({
      command,
      framing: options.execFraming,
      connectionFraming: options.framing,
      env: options.env,
      onStderr: options.onStderr,
      onWarning: options.onWarning,
    });
  }
  if (looksLikeModulePath(text)) return loadModuleHandler(text, options.cwd);
  throw new UsageError(
    `unknown handler '${spec}': use echo, etf-echo, broadcast, exec:COMMAND, or a module path such as ./handler.js`,
  );
}
