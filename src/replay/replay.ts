import { resolve } from 'node:path';
import type { MessageFormat } from '../client/defaults.js';
import type { FramedClient } from '../client/framed-client.js';
import { createSessionSignal } from '../client/deadline.js';
import { describeConnection, openClient, type ClientConnectionOptions } from '../client/open-client.js';
import { formatTarget } from '../client/target.js';
import { loadClientTlsSettings } from '../client/tls-settings.js';
import { defaultMaxFrame, type PacketMode } from '../codec/limits.js';
import { ConnectionError, MismatchError, TimeoutError, isTlsechoError } from '../errors.js';
import { useColor, type Io } from '../io.js';
import { createLogger, type Logger } from '../log/logger.js';
import { readRecording, type RecordedFrame } from '../record/recording.js';
import { formatDuration } from '../units.js';
import { checkRecordedReply, type ReplyDifference } from './check-reply.js';

export interface ReplayOptions extends Omit<ClientConnectionOptions, 'packet' | 'maxFrame'> {
  /** The recording, as `tlsecho proxy --record` or `connect --record` wrote it. */
  file: string;
  /** The server's framing; default the one the recording was made with. */
  packet?: PacketMode;
  maxFrame?: number;
  /** How long to wait for each recorded reply (and for room to send each frame). */
  timeoutMs: number;
  /**
   * `text` (the default): a reply matches when it is the recorded bytes. `etf`: also when both decode to
   * equal Erlang terms, and differing replies are shown as terms (see checkRecordedReply).
   */
  format?: MessageFormat;
  json: boolean;
  verbose: boolean;
  color: boolean;
}

/** What happened to one recorded connection, as `replay --json` reports it. */
export interface ReplayedConnection {
  conn: number;
  ok: boolean;
  sent: number;
  /** Replies the recording holds for this connection, and how many came and matched. */
  expected: number;
  received: number;
  matched: number;
  /** One line per reply that differed. */
  mismatches: string[];
  /** With `--format etf`: how many of the matching replies are equal terms in other bytes. */
  termMatched?: number;
  /** With `--format etf`: each differing reply's two sides as terms (or hex and why not), as in `mismatches`. */
  differences?: ReplyDifference[];
  error?: { code: string; message: string };
}

export interface ReplayResult {
  target: string;
  file: string;
  ok: boolean;
  connections: ReplayedConnection[];
}

/**
 * Plays a recording back against a server: one connection per recorded connection, one after the other.
 * Each connection sends the recorded client frames in their recorded order, and at each recorded server
 * frame waits for the next reply and compares it byte for byte (with `format` `etf`, as Erlang terms when
 * both sides are one). Every differing reply is reported (one
 * line each), then MismatchError (exit 8); a reply that does not come within `timeoutMs` is a TimeoutError
 * (exit 6), a server that closes before it a ConnectionError (exit 4), and either stops the replay.
 * Replies beyond the recorded ones are not checked.
 */
export async function replay(options: ReplayOptions, io: Io): Promise<ReplayResult> {
  const log = createLogger(io.stderr, {
    json: options.json,
    color: useColor(io, { color: options.color }),
    level: options.verbose ? 'verbose' : 'info',
  });
  const recording = readRecording(resolve(io.cwd, options.file));
  if (recording.cutShortLine !== undefined) {
    log.warn(
      `${options.file} line ${recording.cutShortLine} is cut short (the recorder stopped while writing it): replaying the frames before it`,
      { event: 'cut-short', line: recording.cutShortLine },
    );
  }
  const packet = options.packet ?? recording.header.packet;
  const connection: ClientConnectionOptions = {
    ...options,
    packet,
    maxFrame: options.maxFrame ?? defaultMaxFrame(packet),
  };
  const tls = await loadClientTlsSettings(options.tls, io.cwd);
  const target = formatTarget(options.target);
  const format = options.format ?? 'text';
  const results: ReplayedConnection[] = [];
  let failure: unknown;
  for (const { conn, frames } of recording.connections) {
    const result: ReplayedConnection = {
      conn,
      ok: false,
      sent: 0,
      expected: frames.filter((frame) => frame.dir === 's2c').length,
      received: 0,
      matched: 0,
      mismatches: [],
      ...(format === 'etf' ? { termMatched: 0, differences: [] } : {}),
    };
    results.push(result);
    try {
      // The --insecure/--plain warning is said once, with the first connection, not once per connection.
      const warn = results.length === 1;
      await replayConnection(frames, result, connection, tls, io, log, options, target, warn);
    } catch (error) {
      if (isTlsechoError(error)) result.error = { code: error.code, message: error.message };
      failure = error;
    }
    result.ok = result.error === undefined && result.mismatches.length === 0;
    for (const line of result.mismatches)
      log.error(`connection ${conn}: ${line}`, { event: 'mismatch', conn });
    if (result.error === undefined) {
      // Said only when it happened: a match that needed --format etf is news (the server's encoding changed).
      const asTerms = result.termMatched ? ` (${result.termMatched} as equal terms in other bytes)` : '';
      log.info(
        `connection ${conn}: ${result.sent} ${result.sent === 1 ? 'frame' : 'frames'} sent, ${result.matched} of ${result.expected} replies match${asTerms}`,
        { event: 'replayed', ...result },
      );
    }
    if (failure !== undefined) break;
  }
  const ok = failure === undefined && results.every((result) => result.ok);
  const report: ReplayResult = { target, file: options.file, ok, connections: results };
  if (options.json) io.stdout.write(`${JSON.stringify(report)}\n`);
  if (failure !== undefined) throw failure;
  if (recording.connections.length === 0) log.warn(`${options.file} holds no frames: nothing to replay`);
  const differing = results.reduce((sum, result) => sum + result.mismatches.length, 0);
  if (differing > 0) {
    const expected = results.reduce((sum, result) => sum + result.expected, 0);
    throw new MismatchError(
      `${differing} of ${expected} ${expected === 1 ? 'reply differs' : 'replies differ'} from the recording ${options.file}`,
    );
  }
  return report;
}

async function replayConnection(
  frames: RecordedFrame[],
  result: ReplayedConnection,
  options: ClientConnectionOptions,
  tls: Awaited<ReturnType<typeof loadClientTlsSettings>>,
  io: Io,
  log: Logger,
  { timeoutMs, format = 'text' }: Pick<ReplayOptions, 'timeoutMs' | 'format'>,
  target: string,
  warn: boolean,
): Promise<void> {
  const limit = formatDuration(timeoutMs);
  // Ctrl-C ends the replay (exit 130); connecting is bounded by --connect-timeout, each step by --timeout.
  const interrupt = createSessionSignal(io, undefined, () => '');
  let client: FramedClient | undefined;
  try {
    client = await openClient(options, tls, io, log, { signal: interrupt.signal, warn });
    const connected = client;
    log.verbose(describeConnection(connected, options.tls));
    const replies = connected[Symbol.asyncIterator]();
    // Each step gets `timeoutMs`: a server that stops answering (or reading) ends the replay.
    const step = async <T>(promise: Promise<T>, describe: () => string): Promise<T> => {
      const timer = setTimeout(() => connected.destroy(new TimeoutError(describe())), timeoutMs);
      try {
        return await promise;
      } finally {
        clearTimeout(timer);
      }
    };
    for (const frame of frames) {
      if (frame.dir === 'c2s') {
        await step(connected.send(frame.data), () => `${target} took no frame for ${limit} (--timeout)`);
        result.sent += 1;
        continue;
      }
      const index = result.received + 1;
      const next = await step(
        replies.next(),
        () =>
          `no reply ${index} from ${target} within ${limit} (--timeout): got ${result.received} of ${result.expected}`,
      );
      if (next.done) {
        throw new ConnectionError(
          `${target} closed the connection after ${result.received} of ${result.expected} replies`,
          { code: 'ERR_CONNECTION_CLOSED' },
        );
      }
      result.received = index;
      const check = checkRecordedReply(index, frame.data, Buffer.from(next.value), format);
      if (check.match) {
        result.matched += 1;
        if (check.asTerm) result.termMatched = (result.termMatched ?? 0) + 1;
      } else {
        result.mismatches.push(check.line);
        if (check.difference) result.differences?.push(check.difference);
      }
    }
    await connected.end();
  } finally {
    interrupt.dispose();
    client?.destroy();
  }
}
