import { formatSize } from '../../units.js';
import { REPLY_QUEUE_LIMIT } from '../reply-outbox.js';

export { BROADCAST_WORKERS_CONFLICT } from '../defaults.js';
import type { Handler, HandlerSession, SessionContext } from './types.js';

/** How `broadcast` treats the sender and a receiver that falls behind. */
export interface BroadcastOptions {
  /** Send each message back to its sender too (`--broadcast-self`). Default false. */
  self?: boolean;
  /**
   * A receiver past its reply bound loses the messages meant for it until it catches up, counted in its
   * summary (`--broadcast-drop`), instead of being disconnected. Default false.
   */
  drop?: boolean;
}

/**
 * `broadcast`: every message a client sends goes, as one message and unchanged, to every other connected
 * client (like `ncat --broker`). Messages are opaque bytes, so Erlang terms (`--format etf`) pass as they are.
 *
 * A receiver gets the connection's own reply bound (REPLY_QUEUE_LIMIT, as echo): the sender is never held
 * back by a receiver, and a receiver that does not take its messages is disconnected once more than that
 * waits for it (or, with `drop`, loses messages until it has caught up). So one client that never reads
 * costs at most its bound, and the others see every message on time.
 */
export function createBroadcastHandler(options: BroadcastOptions = {}): Handler {
  const members = new Set<Receiver>();
  const self = options.self === true;
  const drop = options.drop === true;
  return {
    name: 'broadcast',
    open(context) {
      const receiver = new Receiver(context, drop, members);
      members.add(receiver);
      const leave = (): void => {
        members.delete(receiver);
      };
      const session: HandlerSession = {
        message(frame) {
          for (const member of members) if (member !== receiver) member.deliver(frame);
          // The sender's own copy goes out as a reply: under the sender's flow control, not dropped.
          return self ? frame : undefined;
        },
        end: leave,
        close: leave,
      };
      return session;
    },
  };
}

class Receiver {
  // Past its bound, in drop mode: messages are counted and not sent until the client has caught up.
  #behind = false;
  // Over its bound at the last send; judged once the event loop has had a turn to write.
  #checking = false;

  constructor(
    readonly context: SessionContext,
    readonly drop: boolean,
    readonly members: Set<Receiver>,
  ) {}

  deliver(frame: Buffer): void {
    const context = this.context;
    if (this.#behind) {
      context.countDropped(1);
      return;
    }
    // send() queues the message and says whether this client's queue is still within its bound.
    if (context.send(frame) || this.#checking) return;
    // One read from a sender can hold many messages, all queued in the same turn of the event loop, before
    // any could be written: an honest reader is over its bound then too. What tells it from a client that
    // does not read is whether its queue has drained by the next turn (its kernel buffers took the bytes).
    // Until then it holds at most what senders' reads of this turn brought, so memory stays bounded.
    this.#checking = true;
    let drained = false;
    // waitForDrain() only resolves (at the latest when the connection closes).
    void context.waitForDrain().then(() => {
      drained = true;
    });
    setImmediate(() => {
      this.#checking = false;
      if (!drained) this.#fallBehind();
    });
  }

  #fallBehind(): void {
    const context = this.context;
    if (this.drop) {
      this.#behind = true;
      // waitForDrain() only resolves (at the latest when the connection closes).
      void context.waitForDrain().then(() => {
        this.#behind = false;
      });
      return;
    }
    this.members.delete(this);
    context.abandon(
      new Error(
        `not reading the messages broadcast to it (more than ${formatSize(REPLY_QUEUE_LIMIT)} waiting); disconnected (--broadcast-drop drops messages instead)`,
      ),
    );
  }
}
