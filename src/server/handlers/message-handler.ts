import type { Handler, HandlerSession, MessageHandler, ModuleHandlerContext, Replies } from './types.js';

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
      const session: HandlerSession = {
        message: (frame) => {
          const replies = handle(frame, context);
          return isPromise(replies)
            ? replies.then((value) => checkReplies(name, value))
            : checkReplies(name, replies);
        },
      };
      const { init, close } = hooks;
      if (close) session.close = async () => void (await close(context));
      if (!init) return session;
      return Promise.resolve(init(context)).then(() => session);
    },
  };
}

const ALLOWED_REPLIES =
  'a handler may return a string, a Buffer or Uint8Array, an array of those, or nothing (undefined or null)';

// JavaScript lets a handler return anything; without this check a number or an object fails deep in the
// encoder with Node's own argument-type message, which names neither the handler nor what it may return.
function checkReplies(name: string, replies: Replies): Replies {
  if (replies === undefined || replies === null || isReply(replies)) return replies;
  if (Array.isArray(replies)) {
    const bad = (replies as unknown[]).findIndex((reply) => !isReply(reply));
    if (bad < 0) return replies;
    throw new TypeError(
      `${name} returned an array whose item ${bad} is ${describeValue((replies as unknown[])[bad])}; ${ALLOWED_REPLIES}`,
    );
  }
  throw new TypeError(`${name} returned ${describeValue(replies)}; ${ALLOWED_REPLIES}`);
}

function isReply(value: unknown): boolean {
  return typeof value === 'string' || value instanceof Uint8Array;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const kind = (value as object).constructor?.name;
    return kind && kind !== 'Object' ? `a ${kind}` : 'an object';
  }
  return `a ${typeof value} (${String(value).slice(0, 40)})`;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}
