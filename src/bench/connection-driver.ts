import type { Socket } from 'node:net';
import type { Decoder } from '../codec/decoder.js';
import { ConnectionError, TimeoutError } from '../errors.js';
import { describeSocketError } from '../tls/errors.js';
import { formatDuration } from '../units.js';
import type { PayloadFactory } from './payload.js';
import type { ReadRelay } from './read-relay.js';
import type { Tally } from './tally.js';

interface DriverSettings {
  label: string;
  /** Numbers the connection in messages, e.g. "connection 3". */
  index: number;
  pipeline: number;
  timeoutMs: number;
  /** Messages to send before stopping; Infinity for a timed run. */
  quota: number;
  /** Open loop: messages per second on this connection, each due at a fixed time. */
  ratePerSecond?: number;
}

/** Shared by the connections of a thread: when the last reply arrived, to time the run. */
export interface ThreadClock {
  lastReplyAt: number;
}

// Closing politely (close_notify, then FIN) lets the server finish cleanly; a server that never closes its
// side must not keep the benchmark alive, though.
const CLOSE_GRACE_MS = 2000;

// A batch buffer holds up to `pipeline` frames, but no more bytes than this (unless one frame is larger):
// writes in flight each hold one, so deep pipelines of large frames must not multiply into gigabytes.
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * Drives one TLS (or, with --plain, TCP) connection: keeps up to `pipeline` frames in flight (closed loop), or sends each frame at
 * its due time (open loop, `ratePerSecond`), and checks every reply against what was sent.
 *
 * Everything is plain callbacks on the socket: no promise or allocation per frame, so the load generator
 * costs less than the server it measures. Sent frames are renumbered in reused batch buffers; replies are
 * compared byte for byte where they lie in what was read, never cut out or put back together.
 */
export class ConnectionDriver {
  readonly #socket: Socket;
  readonly #createDecoder: () => Decoder;
  // Set once the reply stream stopped being exactly what was sent: from then on a decoder cuts it into
  // frames, so that each can be told lost, skipped or corrupt.
  #decoder: Decoder | undefined;
  #frameOffset = 0; // bytes of the next expected reply already checked
  readonly #payloads: PayloadFactory;
  readonly #tally: Tally;
  readonly #clock: ThreadClock;
  readonly #settings: DriverSettings;
  // When each message in flight was sent (or was due, in open loop), indexed by sequence modulo pipeline.
  readonly #startTimes: Float64Array;
  readonly #intervalMs: number;
  // Buffers of `#batchFrames` frames whose writes have completed; at most one per write in flight exists.
  readonly #spareBatches: Buffer[] = [];
  readonly #batchFrames: number;
  #scheduleStart = 0;
  #nextSequence = 0; // next message to send
  #nextExpected = 0; // next reply to come back
  #stopped = false;
  #finished = false;
  #timer: NodeJS.Timeout | undefined;
  #resolve: (() => void) | undefined;
  readonly #done: Promise<void>;

  constructor(
    socket: Socket,
    reads: ReadRelay | undefined,
    createDecoder: () => Decoder,
    payloads: PayloadFactory,
    tally: Tally,
    clock: ThreadClock,
    settings: DriverSettings,
  ) {
    this.#socket = socket;
    this.#createDecoder = createDecoder;
    this.#payloads = payloads;
    this.#tally = tally;
    this.#clock = clock;
    this.#settings = settings;
    this.#startTimes = new Float64Array(Math.max(1, settings.pipeline));
    this.#batchFrames = Math.max(
      1,
      Math.min(settings.pipeline, Math.floor(MAX_BATCH_BYTES / payloads.frameBytes)),
    );
    this.#intervalMs = settings.ratePerSecond ? 1000 / settings.ratePerSecond : 0;
    this.#done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    if (reads) reads.attach(this.#onData);
    else socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.on('timeout', this.#onTimeout);
    socket.on('end', this.#onClose);
    socket.on('close', this.#onClose);
  }

  get inFlight(): number {
    return this.#nextSequence - this.#nextExpected;
  }

  /** Starts sending; resolves once the connection has finished (quota met or stopped, and drained). */
  run(): Promise<void> {
    this.#scheduleStart = performance.now();
    this.#fill();
    return this.#done;
  }

  /** Sends nothing more; the connection finishes when the replies in flight are back. */
  stop(): void {
    this.#stopped = true;
    if (this.inFlight === 0) this.#finish();
  }

  #onData = (chunk: Buffer): void => {
    const now = performance.now();
    this.#tally.bytesReceived += chunk.length;
    this.#clock.lastReplyAt = now;
    this.#now = now;
    if (this.#decoder === undefined) this.#check(chunk);
    // The chunk may be a view of a buffer the socket reuses: the decoder gets a copy it can keep.
    else this.#decode(Buffer.from(chunk));
    this.#fill();
  };

  #now = 0;

  // The reply stream must be exactly the frames sent, in order: each piece is compared with the frame it
  // belongs to, wherever the reads cut it. At the first byte that differs (or arrives with nothing in
  // flight), the stream goes to a decoder from the start of that frame, to find out what happened.
  #check(chunk: Buffer): void {
    const payloads = this.#payloads;
    const frameBytes = payloads.frameBytes;
    const length = chunk.length;
    let position = 0;
    while (position < length) {
      const sequence = this.#nextExpected;
      const at = this.#frameOffset;
      const end = Math.min(length, position + frameBytes - at);
      if (sequence >= this.#nextSequence || !payloads.matchesFrameBytes(chunk, position, end, sequence, at)) {
        this.#fallBack(chunk.subarray(position));
        return;
      }
      const checked = at + end - position;
      position = end;
      if (checked < frameBytes) {
        this.#frameOffset = checked;
      } else {
        this.#frameOffset = 0;
        this.#tally.received += 1;
        this.#accept(sequence);
      }
    }
  }

  #fallBack(rest: Buffer): void {
    const checked = this.#frameOffset;
    this.#frameOffset = 0;
    this.#decoder = this.#createDecoder();
    // The bytes of this frame checked so far were exactly what was sent, so they can be rebuilt from it.
    if (checked > 0) this.#decode(this.#payloads.frames(this.#nextExpected, 1).subarray(0, checked));
    this.#decode(Buffer.from(rest));
  }

  #decode(bytes: Buffer): void {
    if (this.#finished) return;
    try {
      this.#decoder!.push(bytes, this.#onReply);
    } catch (error) {
      this.#fail(error);
    }
  }

  #accept(sequence: number): void {
    const started = this.#startTimes[sequence % this.#startTimes.length]!;
    this.#tally.latency.recordValue(Math.max(1, Math.round((this.#now - started) * 1000)));
    this.#nextExpected = sequence + 1;
  }

  #onReply = (reply: Buffer): void => {
    const tally = this.#tally;
    tally.received += 1;
    let sequence = this.#nextExpected;
    if (sequence >= this.#nextSequence) {
      tally.recordMismatch(`connection ${this.#settings.index}: a reply arrived with no message in flight`);
      return;
    }
    if (!this.#payloads.matches(reply, sequence)) {
      const carried = this.#payloads.sequenceOf(reply);
      if (carried > sequence && carried < this.#nextSequence && this.#payloads.matches(reply, carried)) {
        // The server skipped messages: they are lost, and this reply is the right one for a later message.
        tally.lost += carried - sequence;
        sequence = carried;
      } else {
        tally.recordMismatch(
          `connection ${this.#settings.index}: reply to message ${sequence} differs from what was sent` +
            ` (${reply.length} bytes, expected ${this.#payloads.size})`,
        );
        this.#nextExpected = sequence + 1;
        return;
      }
    }
    this.#accept(sequence);
  };

  // Sends whatever may be sent now, in one write, and arranges to be called again when more is due.
  #fill(): void {
    if (this.#finished) return;
    const settings = this.#settings;
    if (this.#stopped || this.#nextExpected >= settings.quota) {
      if (this.inFlight === 0) this.#finish();
      return;
    }
    let limit = Math.min(this.#nextExpected + settings.pipeline, settings.quota);
    const now = performance.now();
    let nextDue = Infinity;
    if (this.#intervalMs > 0) {
      const due = Math.floor((now - this.#scheduleStart) / this.#intervalMs) + 1;
      if (due < limit) {
        limit = due;
        nextDue = this.#scheduleStart + due * this.#intervalMs;
      }
    }
    const count = limit - this.#nextSequence;
    if (count > 0) this.#send(count, now);
    if (nextDue !== Infinity && this.#timer === undefined) {
      this.#timer = setTimeout(this.#onTimer, Math.max(0, nextDue - performance.now()));
    }
  }

  #onTimer = (): void => {
    this.#timer = undefined;
    this.#fill();
  };

  #send(count: number, now: number): void {
    const first = this.#nextSequence;
    const frameBytes = this.#payloads.frameBytes;
    for (let sent = 0; sent < count;) {
      // Reuse the batch buffers whose writes have completed: renumbering the frames in place means the
      // generator neither copies nor allocates per message, and stays cheaper than the server it measures.
      const batch = this.#spareBatches.pop() ?? this.#payloads.frames(0, this.#batchFrames);
      const n = Math.min(count - sent, this.#batchFrames);
      for (let i = 0; i < n; i++) this.#payloads.renumber(batch, i, first + sent + i);
      this.#tally.bytesSent += n * frameBytes;
      this.#socket.write(n === this.#batchFrames ? batch : batch.subarray(0, n * frameBytes), () =>
        this.#spareBatches.push(batch),
      );
      sent += n;
    }
    const startTimes = this.#startTimes;
    const ring = startTimes.length;
    for (let sequence = first; sequence < first + count; sequence++) {
      // Open loop: latency counts from when the message was due, not from when it could be sent, so a
      // stalled server shows up in the figures (no coordinated omission).
      startTimes[sequence % ring] =
        this.#intervalMs > 0 ? this.#scheduleStart + sequence * this.#intervalMs : now;
    }
    this.#nextSequence = first + count;
    this.#tally.sent += count;
  }

  #onTimeout = (): void => {
    if (this.inFlight === 0) return; // idle between due times in an open-loop run
    const { label, index, timeoutMs } = this.#settings;
    this.#fail(
      new TimeoutError(
        `no reply from ${label} on connection ${index} for ${formatDuration(timeoutMs)}` +
          ` (${this.inFlight} messages outstanding)`,
      ),
    );
  };

  #onError = (error: Error): void => {
    this.#fail(describeSocketError(error, this.#settings.label, 'session'));
  };

  #onClose = (): void => {
    if (this.#finished) return;
    const { label, index } = this.#settings;
    this.#fail(
      new ConnectionError(
        `${label} closed connection ${index} during the run (${this.inFlight} replies outstanding)`,
        { code: 'ERR_CONNECTION_CLOSED' },
      ),
    );
  };

  #fail(error: unknown): void {
    if (this.#finished) return;
    this.#tally.recordError(error);
    this.#tally.lost += this.inFlight;
    this.#nextExpected = this.#nextSequence;
    this.#finish();
    this.#socket.destroy();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), CLOSE_GRACE_MS).unref();
    this.#resolve?.();
  }
}
