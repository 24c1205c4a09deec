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
}

interface PipeSummary {
  sent: number;
  received: number;
  /** Who ended the session: the input ran out, or the server closed. */
  endedBy: 'input' | 'server';
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
 * `echo ping | tlsecho connect …` in a script fails when the server never answered.
 *
 * A message that cannot be sent (over the maximum frame, or with `etf` not a valid term) is refused as
 * Erlang's `ssl:send` refuses `packet_to_large`: one error line on stderr, nothing written, and the session
 * goes on with the next message. Once the session is over it still fails, with the first refusal's exit
 * code, so that a script notices the gap.
 */
export async function pipeSession(
  client: FramedClient,
  stdin: Readable,
  stdout: FrameWriter['stream'],
  options: PipeOptions,
  log: Logger,
): Promise<PipeSummary> {
  const format = options.format ?? 'text';
  const printer = new FrameWriter(
    stdout,
    options.output,
    client.framing.mode,
    createReplyFormatter(format, options.output, client.framing.mode, (warning) => log.warn(warning)),
  );
  const refused: TlsechoError[] = [];
  const refuse = (error: TlsechoError) => {
    refused.push(error);
    log.error(`${error.message}; not sent`);
  };
  let printed = 0;
  let inputEnded = false;
  let lingerTimer: NodeJS.Timeout | undefined;
  let settle!: (outcome: Outcome) => void;
  const outcome = new Promise<Outcome>((resolve) => {
    settle = resolve;
  });

  const caughtUp = () => printed >= client.counters.framesSent;
  const waitForReplies = () => {
    clearTimeout(lingerTimer);
    if (caughtUp()) settle({ kind: 'input' });
    else lingerTimer = setTimeout(() => settle({ kind: 'input' }), options.lingerMs);
  };

  const reading = (async () => {
    try {
      for await (const frame of client) {
        await printer.print(frame);
        printed += 1;
        if (inputEnded) waitForReplies();
      }
      settle({ kind: 'server' });
    } catch (error) {
      settle({ kind: 'failed', error });
    }
  })();

  // Never rejects: every failure settles the outcome (or is the reader's to report).
  void (async () => {
    try {
      // Counts every message, refused ones too, so that errors number them as they appear in the input.
      let index = 0;
      const messages = readMessages(stdin, {
        mode: options.input,
        packet: client.framing.mode,
        // Term text is not what goes on the wire: its encoding is checked against the frame limit below.
        maxFrame: format === 'etf' ? termTextLimit(client.framing.maxFrame) : client.framing.maxFrame,
        label: 'stdin',
        onOversized: (error) => {
          index += 1;
          refuse(error);
        },
      });
      for await (const message of messages) {
        index += 1;
        const label = `message ${index} of stdin`;
        try {
          await client.send(format === 'etf' ? encodeTermMessage(message, label) : message);
        } catch (error) {
          if (error instanceof UsageError) refuse(error);
          else if (error instanceof FrameTooLargeError && client.writable) {
            refuse(
              new ProtocolError(
                `${label} encodes to ${error.length} bytes, above the maximum frame of ${error.maxFrame} bytes`,
                error.code,
              ),
            );
          } else throw error;
        }
      }
    } catch (error) {
      // A send that failed because the connection went away: the reader knows why, and settles.
      if (client.writable) settle({ kind: 'failed', error });
      return;
    }
    inputEnded = true;
    waitForReplies();
  })();

  let result = await outcome;
  clearTimeout(lingerTimer);
  // Caught up, but the stream had already broken behind the last reply: that is still an error. (Bytes that
  // arrive after we close go unread either way.)
  if (result.kind === 'input' && client.failure !== undefined)
    result = { kind: 'failed', error: client.failure };
  // Stop reading input that is still open (the server closed first, or a failure): an open stdin would
  // otherwise keep the process alive.
  if (!inputEnded) stdin.destroy();
  if (result.kind === 'failed') {
    client.destroy(result.error as TlsechoError);
    // Every complete frame received before the failure is printed before it is reported.
    await reading;
    throw result.error;
  }
  const sent = client.counters.framesSent;
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
  return { sent: client.counters.framesSent, received: printed, endedBy: result.kind };
}
