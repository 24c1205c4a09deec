import type { Readable } from 'node:stream';
import type { Logger } from '../log/logger.js';
import {
  ConnectionError,
  FrameTooLargeError,
  ProtocolError,
  TimeoutError,
  TlsechoError,
  UsageError,
} from '../errors.js';
import { formatDuration } from '../units.js';
import type { FramedClient } from './framed-client.js';
import { framingHint } from './framing-hint.js';
import { isRetryable } from './reconnect.js';
import { readMessages, type InputMode } from './input.js';
import { FrameWriter, type OutputMode } from './output.js';
import {
  createReplyFormatter,
  encodeTermMessage,
  termTextLimit,
  type MessageFormat,
} from './term-messages.js';

import { DEFAULT_LINGER_MS } from './defaults.js';

export { DEFAULT_LINGER_MS };

interface PipeOptions {
  input: InputMode;
  output: OutputMode;
  /** After the input ends, how long to wait with nothing arriving before closing. */
  lingerMs: number;
  /** `etf`: each message is Erlang term text, sent as ETF; replies are shown as terms. Default `text`. */
  format?: MessageFormat;
  /**
   * Every frame sent expects a reply (the default): a session that ends with replies missing fails, with a
   * TimeoutError when `lingerMs` passed without them, or a ConnectionError when the server closed first.
   * `false`: replies are optional, and the session ends quietly after the linger.
   */
  wait?: boolean;
  /**
   * When set, a connection that drops (closed by the server, reset, refused on the way back) is replaced by
   * the one this resolves with, instead of ending the session; it throws to give up. With `wait`, every
   * message whose reply had not arrived is sent again on the new connection, before any later one, so
   * replies still match messages in order. Without `wait` replies are not tracked, and nothing is re-sent
   * but a message that could not be written at all. `signal` aborts when the session ends meanwhile.
   */
  reconnect?: (reason: TlsechoError, signal: AbortSignal) => Promise<FramedClient>;
}

export interface PipeSummary {
  /** Messages sent (a message sent again after a reconnection counts once). */
  sent: number;
  received: number;
  /** Who ended the session: the input ran out, or the server closed. */
  endedBy: 'input' | 'server';
  /** Connections opened again after a drop. */
  reconnects: number;
  /** Messages sent again after a reconnection because their replies had not arrived (counted each time). */
  resent: number;
}

type Outcome = { kind: 'input' } | { kind: 'server' } | { kind: 'failed'; error: unknown };

/**
 * Streams messages from `stdin` to the server and prints replies as they arrive, both at once and both with
 * backpressure, so input of any size passes through in bounded memory: reading stops while the socket's
 * buffer is full, and the socket is paused while stdout cannot keep up.
 *
 * Ends when the input has ended and every frame sent has had a reply (or `lingerMs` passed with nothing
 * arriving), or when the server closes. A framing or connection error ends it by throwing, after every
 * complete frame received before it has been printed; so do replies missing at the end (see `wait`), so that
 * `echo ping | tlsecho connect …` in a script fails when the server never answered. With `reconnect`, a
 * dropped connection is replaced instead (see there).
 *
 * A message that cannot be sent (over the maximum frame, or with `etf` not a valid term) is refused as
 * Erlang's `ssl:send` refuses `packet_to_large`: one error line on stderr, nothing written, and the session
 * goes on with the next message. Once the session is over it still fails, with the first refusal's exit
 * code, so that a script notices the gap.
 */
export async function pipeSession(
  first: FramedClient,
  stdin: Readable,
  stdout: FrameWriter['stream'],
  options: PipeOptions,
  log: Logger,
): Promise<PipeSummary> {
  const format = options.format ?? 'text';
  const printer = new FrameWriter(
    stdout,
    options.output,
    first.framing.mode,
    createReplyFormatter(format, options.output, first.framing.mode, (warning) => log.warn(warning)),
  );
  const refused: TlsechoError[] = [];
  const refuse = (error: TlsechoError) => {
    refused.push(error);
    log.error(`${error.message}; not sent`);
  };
  // The connection in use; replaced after each reconnection.
  let client = first;
  // With `wait` and `reconnect`: the messages whose replies have not arrived, oldest first (replies come in
  // order, one per message). They are the stdin buffers themselves, never reused, kept only while in flight.
  const tracking = options.reconnect !== undefined && options.wait !== false;
  const unanswered: Uint8Array[] = [];
  let sent = 0;
  let printed = 0;
  let reconnects = 0;
  let resent = 0;
  // False from a drop until the new connection is up and the unanswered messages were re-sent on it: new
  // messages wait, so that they go after those. `generation` counts the connections that became ready.
  let ready = true;
  let generation = 0;
  let waiters: Array<() => void> = [];
  const wake = () => {
    const woken = waiters;
    waiters = [];
    for (const resolve of woken) resolve();
  };
  const changed = () => new Promise<void>((resolve) => waiters.push(resolve));
  let over = false;
  const ended = new AbortController();
  let inputEnded = false;
  let lingerTimer: NodeJS.Timeout | undefined;
  let settleOutcome!: (outcome: Outcome) => void;
  const outcome = new Promise<Outcome>((resolve) => {
    settleOutcome = resolve;
  });
  const settle = (result: Outcome) => {
    if (over) return;
    over = true;
    settleOutcome(result);
    ended.abort();
    wake();
  };

  const caughtUp = () => printed >= sent;
  const waitForReplies = () => {
    clearTimeout(lingerTimer);
    if (caughtUp()) settle({ kind: 'input' });
    // While reconnecting the linger waits: it counts from the new connection.
    else if (ready) lingerTimer = setTimeout(() => settle({ kind: 'input' }), options.lingerMs);
  };

  // Sends the unanswered messages again on a new connection, alongside the reader; then lets new ones go.
  const resend = async (fresh: FramedClient, backlog: Uint8Array[]) => {
    try {
      for (const payload of backlog) if (!fresh.write(payload)) await fresh.drained();
    } catch {
      return; // dropped again: the reader notices and reconnects, re-sending what is still unanswered
    }
    if (client !== fresh || !fresh.writable || over) return;
    ready = true;
    generation += 1;
    wake();
    if (inputEnded) waitForReplies();
  };

  // Reads each connection in turn; on a drop, reconnects (when allowed) or settles the outcome.
  const reading = (async () => {
    for (;;) {
      const current = client;
      let failure: unknown;
      try {
        for await (const frame of current) {
          await printer.print(frame);
          printed += 1;
          if (tracking) unanswered.shift();
          if (inputEnded && ready) waitForReplies();
        }
      } catch (error) {
        failure = error;
      }
      if (over) return;
      const done = inputEnded && (caughtUp() || !tracking);
      const retry =
        options.reconnect !== undefined && !done && (failure === undefined || isRetryable(failure));
      if (!retry) {
        settle(failure === undefined ? { kind: 'server' } : { kind: 'failed', error: failure });
        return;
      }
      ready = false;
      clearTimeout(lingerTimer);
      current.destroy();
      const reason =
        (failure as TlsechoError | undefined) ??
        new ConnectionError(`${current.target} closed the connection`, { code: 'ERR_CONNECTION_CLOSED' });
      let fresh: FramedClient;
      try {
        fresh = await options.reconnect!(reason, ended.signal);
      } catch (error) {
        settle({ kind: 'failed', error });
        return;
      }
      if (over) {
        fresh.destroy();
        return;
      }
      client = fresh;
      reconnects += 1;
      const backlog = tracking ? [...unanswered] : [];
      resent += backlog.length;
      log.info(
        backlog.length > 0
          ? `reconnected to ${fresh.target}; sending again the ${backlog.length} ${backlog.length === 1 ? 'message' : 'messages'} whose replies had not arrived`
          : `reconnected to ${fresh.target}`,
        { event: 'reconnected', resent: backlog.length },
      );
      void resend(fresh, backlog);
    }
  })();

  // Never rejects: every failure settles the outcome (or is the reader's to report).
  void (async () => {
    try {
      // Counts every message, refused ones too, so that errors number them as they appear in the input.
      let index = 0;
      const messages = readMessages(stdin, {
        mode: options.input,
        packet: first.framing.mode,
        // Term text is not what goes on the wire: its encoding is checked against the frame limit below.
        maxFrame: format === 'etf' ? termTextLimit(first.framing.maxFrame) : first.framing.maxFrame,
        label: 'stdin',
        onOversized: (error) => {
          index += 1;
          refuse(error);
        },
      });
      for await (const message of messages) {
        index += 1;
        const label = `message ${index} of stdin`;
        let payload: Uint8Array;
        try {
          payload = format === 'etf' ? encodeTermMessage(message, label) : message;
        } catch (error) {
          if (error instanceof UsageError) {
            refuse(error);
            continue;
          }
          throw error;
        }
        if (!(await sendOne(payload, label))) return;
      }
    } catch (error) {
      // A send that failed because the connection went away: the reader knows why, and settles.
      if (client.writable) settle({ kind: 'failed', error });
      return;
    }
    inputEnded = true;
    if (ready) waitForReplies();
  })();

  // Sends one message, through reconnections; false when the session ended meanwhile.
  async function sendOne(payload: Uint8Array, label: string): Promise<boolean> {
    for (;;) {
      while (!ready && !over) await changed();
      if (over) return false;
      const current = client;
      const gen = generation;
      if (tracking) unanswered.push(payload);
      let written = false;
      try {
        const room = current.write(payload);
        written = true;
        sent += 1;
        if (!room) await current.drained();
        return true;
      } catch (error) {
        if (!written && error instanceof FrameTooLargeError && current.writable) {
          if (tracking) unanswered.pop();
          refuse(
            new ProtocolError(
              `${label} encodes to ${error.length} bytes, above the maximum frame of ${error.maxFrame} bytes`,
              error.code,
            ),
          );
          return true;
        }
        if (options.reconnect === undefined) throw error;
        if (tracking && !written) sent += 1;
        // The connection went away: the reader reconnects (or gives up, and settles).
        while (generation === gen && !over) await changed();
        if (over) return false;
        // Tracked, it was among the unanswered messages re-sent; untracked and written, it may be lost
        // (replies are not tracked, so nothing tells); never written, it goes on the new connection.
        if (tracking || written) return true;
      }
    }
  }

  let result = await outcome;
  clearTimeout(lingerTimer);
  // Caught up, but the stream had already broken behind the last reply: that is still an error. (Bytes that
  // arrive after we close go unread either way.)
  if (result.kind === 'input' && client.failure !== undefined && options.reconnect === undefined)
    result = { kind: 'failed', error: client.failure };
  // Stop reading input that is still open (the server closed first, or a failure): an open stdin would
  // otherwise keep the process alive.
  if (!inputEnded) stdin.destroy();
  const summarise = () => {
    if (reconnects === 0) return;
    const times = reconnects === 1 ? '1 time' : `${reconnects} times`;
    const again = tracking
      ? `${resent} ${resent === 1 ? 'message' : 'messages'} sent again`
      : 'nothing sent again (--no-wait: replies are not tracked)';
    log.info(`reconnected ${times}; ${again}`, { event: 'reconnect-summary', reconnects, resent });
  };
  if (result.kind === 'failed') {
    client.destroy(result.error as TlsechoError);
    // Every complete frame received before the failure is printed before it is reported.
    await reading;
    summarise();
    throw result.error;
  }
  const missing = caughtUp() ? 0 : sent - printed;
  // Measured before closing: ending the connection drops whatever half-frame was buffered.
  const hint = missing > 0 ? framingHint(client, printed) : undefined;
  if (result.kind === 'input') {
    if (missing > 0 && options.wait === false) {
      log.verbose(
        `no reply to ${missing} of ${sent} frames within the ${formatDuration(options.lingerMs)} linger`,
      );
    }
    await client.end();
  }
  await reading;
  summarise();
  if (missing > 0 && options.wait !== false && refused.length === 0) {
    const replies = `${missing} of ${sent} ${sent === 1 ? 'reply' : 'replies'} missing`;
    if (result.kind === 'server') {
      throw new ConnectionError(`${client.target} closed the connection with ${replies}`, {
        code: 'ERR_CONNECTION_CLOSED',
        hint: hint ?? 'pass --no-wait if the server does not answer every message',
      });
    }
    throw new TimeoutError(
      `${replies}: nothing more arrived from ${client.target} within ${formatDuration(options.lingerMs)} after the input ended (--linger)`,
      { hint: hint ?? 'raise --linger for a slow server, or pass --no-wait if replies are not expected' },
    );
  }
  if (refused.length > 0) {
    const first = refused[0]!;
    const count = refused.length === 1 ? '1 message was' : `${refused.length} messages were`;
    const message = `${count} not sent; the first: ${first.message}`;
    throw first instanceof UsageError ? new UsageError(message) : new ProtocolError(message, first.code);
  }
  log.verbose(
    result.kind === 'server'
      ? `connection to ${client.target} closed by the server`
      : `connection to ${client.target} closed`,
  );
  return { sent, received: printed, endedBy: result.kind, reconnects, resent };
}
