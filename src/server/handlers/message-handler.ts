import type { Handler, HandlerSession, MessageHandler, ModuleHandlerContext } from './types.js';

/** Optional per-connection hooks a module may export beside its handler. */
export interface HandlerHooks {
  /** Runs when a connection opens, before its first message; a rejection ends that connection. */
  init?: (context: ModuleHandlerContext) => unknown;
  /** Runs when a connection closes, whatever the reason. */
  close?: (context: ModuleHandlerContext) => unknown;
}

/** Turns a plain `(message, context) => replies` function into a Handler. */
export function fromMessageHandler(name: string, handle: MessageHandler, hooks: HandlerHooks = {}): Handler {
  return {
    name,
    open(context) {
      const session: HandlerSession = { message: (frame) => handle(frame, context) };
      const { init, close } = hooks;
      if (close) session.close = async () => void (await close(context));
      if (!init) return session;
      return Promise.resolve(init(context)).then(() => session);
    },
  };
}
