import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { createEncoder } from '../codec/encoder.js';
import { encodeTerm } from '../etf/index.js';
import { useColor, type Io } from '../io.js';
import { createLogger } from '../log/logger.js';
import { ConnectionError, FileError, UsageError, isTlsechoError } from '../errors.js';
import { formatDuration } from '../units.js';
import type { FramedClient } from './framed-client.js';
import { createSessionSignal } from './deadline.js';
import { framingHint } from './framing-hint.js';
import { checkReply } from './expect.js';
import { readMessages, type InputMode } from './input.js';
import {
  describeConnection,
  logPeerDetails,
  openClient,
  type ClientConnectionOptions,
} from './open-client.js';
import { FrameWriter, frameToJson, type FrameJson, type OutputMode } from './output.js';
import {
  checkTermReply,
  createReplyFormatter,
  parseTermArgument,
  parseTermMessage,
  termReplyToJson,
  termTextLimit,
  type MessageFormat,
  type TermReplyJson,
} from './term-messages.js';
import { formatTarget } from './target.js';
import { loadClientTlsSettings } from './tls-settings.js';

import { DEFAULT_SEND_TIMEOUT_MS } from './defaults.js';

export { DEFAULT_SEND_TIMEOUT_MS };

export interface SendOptions extends ClientConnectionOptions {
  /** Each one frame, as UTF-8. When empty, messages come from `file` or stdin. */
  messages: string[];
  file?: string;
  /** How `file` or stdin is cut into messages. */
  input: InputMode;
  output: OutputMode;
  /**
   * `etf`: each message and `--expect` is Erlang term text; messages are sent as ETF, replies are shown as
   * terms and compared as terms. Default `text`.
   */
  format?: MessageFormat;
  /** Sends the messages this many times over. */
  count: number;
  /** Replies to wait for in total; default one per frame sent, or none with `wait: false`. */
  replies?: number;
  wait: boolean;
  /** Expected replies, compared in order, byte for byte. */
  expect: string[];
  /** Expect every reply to equal the message it answers. */
  expectEcho: boolean;
  /** Bounds the whole exchange, connecting included. */
  timeoutMs: number;
  json: boolean;
  verbose: boolean;
  color: boolean;
}

/** The one object `send --json` prints. Times are milliseconds. */
export interface SendResult {
  target: string;
  ok: boolean;
  /** The TLS session; null for `--plain` (plain TCP), or when no connection was made. */
  tls: {
    protocol: string | null;
    cipher: string;
    alpn: string | null;
    fingerprint: string;
    verified: boolean;
  } | null;
  /** With `format: 'etf'`, each reply as a term (or, when it is not one, its hex). */
  replies: Array<FrameJson | TermReplyJson>;
  timings: {
    connectMs: number | null;
    /** 0 for `--plain`: there is no handshake. */
    handshakeMs: number | null;
    /** From the first frame sent to the first reply. */
    firstReplyMs: number | null;
    totalMs: number;
  };
  sent: number;
  received: number;
  error?: { code: string; message: string };
}

/**
 * The one-shot client: connects, sends every message (`count` times), waits for the replies, prints them,
 * closes. `--expect`/`--expect-echo` make it a check that fails with MismatchError on the first reply that
 * differs; `timeoutMs` bounds everything with a TimeoutError. Replies received before any failure are
 * printed (or, with `json`, reported) first.
 */
export async function send(options: SendOptions, io: Io): Promise<SendResult> {
  const started = performance.now();
  const log = createLogger(io.stderr, {
    json: options.json,
    color: useColor(io, { color: options.color }),
    level: options.verbose ? 'verbose' : 'info',
  });
  const target = formatTarget(options.target);
  const etf = options.format === 'etf';
  const texts = await gatherMessages(options, io, log.info);
  if (texts.length === 0) nothingToSend(options, log.warn);
  // Every message is parsed before connecting: a typo is a usage error (exit 2) and nothing is sent.
  const messageTerms = etf ? texts.map((text, i) => parseTermMessage(text, messageLabel(options, i))) : [];
  const messages = etf ? messageTerms.map((term) => encodeTerm(term)) : texts;
  const tls = await loadClientTlsSettings(options.tls, io.cwd);
  // Refuse a message that cannot be framed before connecting, so nothing is half sent.
  const encoder = createEncoder(options.packet, options.maxFrame);
  for (const message of messages) encoder.encode(message);

  const total = messages.length * options.count;
  const expectedReplies = options.wait ? (options.replies ?? total) : 0;
  if (options.expect.length > expectedReplies) {
    throw new UsageError(
      `--expect is given ${options.expect.length} times but only ${expectedReplies} ${expectedReplies === 1 ? 'reply is' : 'replies are'} expected: add --replies ${options.expect.length}`,
    );
  }
  const expected = options.expect.map((text) => Buffer.from(text, 'utf8'));
  const expectedTerms = etf
    ? options.expect.map((text, i) =>
        parseTermArgument(text, options.expect.length === 1 ? '--expect' : `--expect ${i + 1}`),
      )
    : [];
  const replies: Buffer[] = [];
  let client: FramedClient | undefined;
  let firstSentAt: number | undefined;
  let firstReplyAt: number | undefined;
  let failure: unknown;

  const limit = formatDuration(options.timeoutMs);
  const session = createSessionSignal(io, options.timeoutMs, () =>
    client === undefined
      ? `no connection to ${target} within ${limit} (--timeout)`
      : {
          message: `timed out after ${limit} waiting for replies from ${target}: got ${replies.length} of ${expectedReplies}`,
          hint: framingHint(client, replies.length),
        },
  );
  const printer = options.json
    ? undefined
    : new FrameWriter(
        io.stdout,
        options.output,
        options.packet,
        createReplyFormatter(options.format ?? 'text', options.output, options.packet, (warning) =>
          log.warn(warning),
        ),
      );

  const receive = async (connection: FramedClient) => {
    if (expectedReplies === 0) return;
    for await (const frame of connection) {
      const reply = Buffer.from(frame); // kept until the end: copy out of the socket's chunk
      firstReplyAt ??= performance.now();
      replies.push(reply);
      await printer?.print(reply);
      const index = replies.length;
      const echoOf = (index - 1) % messages.length;
      const mismatch =
        index <= expected.length
          ? etf
            ? checkTermReply(index, expectedTerms[index - 1]!, reply, 'expect')
            : checkReply(index, expected[index - 1]!, reply, 'expect')
          : options.expectEcho && index <= total
            ? etf
              ? checkTermReply(index, messageTerms[echoOf]!, reply, 'echo')
              : checkReply(index, messages[echoOf]!, reply, 'echo')
            : undefined;
      if (mismatch) throw mismatch;
      if (index >= expectedReplies) return;
    }
    throw new ConnectionError(
      `${target} closed the connection after ${replies.length} of ${expectedReplies} replies`,
      { code: 'ERR_CONNECTION_CLOSED', hint: framingHint(connection, replies.length) },
    );
  };

  const sendAll = async (connection: FramedClient) => {
    for (let round = 0; round < options.count; round++) {
      for (const message of messages) {
        firstSentAt ??= performance.now();
        await connection.send(message);
      }
    }
  };

  try {
    client = await openClient(options, tls, io, log, { signal: session.signal, json: options.json });
    log.verbose(describeConnection(client, options.tls));
    logPeerDetails(client, options.tls, log);
    // Replies are read while sending, so a server that answers as it goes never blocks on a full buffer.
    const connection = client;
    const receiving = receive(connection);
    // A failed check or a broken stream ends the exchange at once, even while sending waits for room.
    receiving.catch(() => connection.destroy());
    try {
      await sendAll(connection);
    } catch (sendError) {
      // When sending failed because the connection ended, the reader knows the better reason.
      await receiving;
      throw sendError;
    }
    await receiving;
    await client.end();
  } catch (error) {
    failure = error;
    client?.destroy();
  } finally {
    session.dispose();
  }

  const result: SendResult = {
    target,
    ok: failure === undefined,
    // null for a plain TCP connection (--plain), as when no connection was made.
    tls:
      client && client.peer.encrypted !== false
        ? {
            protocol: client.peer.protocol,
            cipher: client.peer.cipher,
            alpn: client.peer.alpn || null,
            fingerprint: client.peer.fingerprint,
            verified: client.peer.verified,
          }
        : null,
    replies: replies.map((reply) => (etf ? termReplyToJson(reply) : frameToJson(reply))),
    timings: {
      connectMs: client ? round(client.timings.connectMs) : null,
      handshakeMs: client ? round(client.timings.handshakeMs) : null,
      firstReplyMs:
        firstReplyAt !== undefined && firstSentAt !== undefined ? round(firstReplyAt - firstSentAt) : null,
      totalMs: round(performance.now() - started),
    },
    sent: client?.counters.framesSent ?? 0,
    received: replies.length,
  };
  if (failure !== undefined && isTlsechoError(failure)) {
    result.error = { code: failure.code, message: failure.message };
  }
  if (options.json) io.stdout.write(`${JSON.stringify(result)}\n`);
  if (failure !== undefined) throw failure;
  return result;
}

function messageLabel(options: SendOptions, index: number): string {
  if (options.messages.length > 0) return `message ${index + 1}`;
  return `message ${index + 1} of ${options.file ?? 'stdin'}`;
}

/**
 * No message at all: arguments are never empty, so stdin or --file held none (a script whose input ran dry,
 * a health check run without its message). A check with nothing to check must not pass: --expect-echo, and
 * --expect without --replies (replies a server sends unasked), are usage errors before connecting. Without a
 * check the run still connects, as `openssl s_client < /dev/null` does, and says it sent nothing.
 */
function nothingToSend(options: SendOptions, warn: (message: string) => void): void {
  const source = options.file ?? 'stdin';
  if (options.expectEcho) {
    throw new UsageError(`--expect-echo has nothing to check: no message given, and ${source} held none`);
  }
  if (options.replies !== undefined) return;
  if (options.expect.length > 0) {
    throw new UsageError(
      `--expect has nothing to check: no message given, and ${source} held none (--replies N reads replies the server sends unasked)`,
    );
  }
  warn(`no message given, and ${source} held none: connecting only, sending nothing`);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

async function gatherMessages(options: SendOptions, io: Io, note: (text: string) => void): Promise<Buffer[]> {
  if (options.messages.length > 0) return options.messages.map((text) => Buffer.from(text, 'utf8'));
  let stream: Readable;
  let label: string;
  if (options.file !== undefined) {
    stream = createReadStream(resolve(io.cwd, options.file));
    label = options.file;
  } else {
    stream = io.stdin;
    label = 'stdin';
    if (io.stdin.isTTY) note('reading messages from the terminal, one per line; end with Ctrl-D');
  }
  const messages: Buffer[] = [];
  try {
    for await (const message of readMessages(stream, {
      mode: options.input,
      packet: options.packet,
      // Term text is not what goes on the wire: its encoding is checked against the frame limit.
      maxFrame: options.format === 'etf' ? termTextLimit(options.maxFrame) : options.maxFrame,
      label,
    })) {
      messages.push(Buffer.from(message));
    }
  } catch (error) {
    if (isTlsechoError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new FileError(
      `cannot read ${label}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message}`,
      { cause: error },
    );
  }
  return messages;
}
