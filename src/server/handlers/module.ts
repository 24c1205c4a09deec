import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileError, UsageError } from '../../errors.js';
import { importModule } from '../../import-module.js';
import { fromMessageHandler, type HandlerHooks } from './message-handler.js';
import type { Handler, MessageHandler } from './types.js';

/** True when a `--handler` value names a module file rather than `echo` or `exec:`. */
export function looksLikeModulePath(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || isAbsolute(spec) || /\.[cm]?js$/.test(spec);
}

/**
 * Loads a handler module, relative to `cwd`. It exports the handler as its default export or as `handler`
 * (optionally with `init(context)` and `close(context)` hooks, run per connection), or a default object
 * holding those.
 */
export async function loadModuleHandler(spec: string, cwd: string): Promise<Handler> {
  const path = resolve(cwd, spec);
  try {
    if (!(await stat(path)).isFile()) throw new FileError(`cannot load handler ${spec}: it is not a file`);
  } catch (error) {
    if (error instanceof FileError) throw error;
    throw new FileError(`cannot load handler ${spec}: no such file (looked for ${path})`, { cause: error });
  }
  let loaded: Record<string, unknown>;
  try {
    loaded = await importModule<Record<string, unknown>>(pathToFileURL(path).href);
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
    throw new FileError(`cannot load handler ${spec}: ${reason}`, { cause: error });
  }
  const exported = isObject(loaded.default) ? loaded.default : loaded;
  const handle = typeof loaded.default === 'function' ? loaded.default : exported.handler;
  if (typeof handle !== 'function') {
    throw new UsageError(`${spec} exports no handler function`, {
      hint: 'export default function (message, context) { return message; }  (or export a function named handler)',
    });
  }
  const hooks: HandlerHooks = {};
  if (typeof exported.init === 'function') hooks.init = exported.init as HandlerHooks['init'];
  if (typeof exported.close === 'function') hooks.close = exported.close as HandlerHooks['close'];
  return fromMessageHandler(spec, handle as MessageHandler, hooks);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
