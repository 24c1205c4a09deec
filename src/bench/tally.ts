import { isTlsechoError, TlsechoError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { createHistogram, decodeHistogram, encodeHistogram, type Histogram } from './histogram.js';

/** An error as it crosses a worker thread boundary: enough to print it and pick the exit code. */
export interface ErrorRecord {
  code: string;
  exitCode: number;
  message: string;
  hint?: string;
}

// Keep the first few errors of each kind for the report; counting them is enough after that.
const ERRORS_KEPT = 5;

/** What one thread (or the whole run) observed. Plain counters on the hot path; histograms in microseconds. */
export class Tally {
  sent = 0;
  received = 0;
  bytesSent = 0;
  bytesReceived = 0;
  mismatches = 0;
  lost = 0;
  errors = 0;
  handshakes = 0;
  /** Milliseconds from the start of the measured period to the last reply (or the end of the period). */
  elapsedMs = 0;
  firstErrors: ErrorRecord[] = [];
  firstMismatch: string | undefined;
  latency: Histogram = createHistogram();
  handshakeTime: Histogram = createHistogram();

  recordError(error: unknown): void {
    this.errors += 1;
    if (this.firstErrors.length < ERRORS_KEPT) this.firstErrors.push(toErrorRecord(error));
  }

  recordMismatch(description: string): void {
    this.mismatches += 1;
    this.firstMismatch ??= description;
  }

  /**
   * Forgets what the warm-up did. Errors, mismatches and losses are kept, since they fail the run anyway;
   * so are the handshakes that opened long-lived connections before it.
   */
  resetMeasurements(options: { keepHandshakes: boolean }): void {
    this.sent = 0;
    this.received = 0;
    this.bytesSent = 0;
    this.bytesReceived = 0;
    this.latency.reset();
    if (!options.keepHandshakes) {
      this.handshakes = 0;
      this.handshakeTime.reset();
    }
  }

  toSnapshot(): TallySnapshot {
    return {
      sent: this.sent,
      received: this.received,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      mismatches: this.mismatches,
      lost: this.lost,
      errors: this.errors,
      handshakes: this.handshakes,
      elapsedMs: this.elapsedMs,
      firstErrors: this.firstErrors,
      firstMismatch: this.firstMismatch,
      latency: encodeHistogram(this.latency),
      handshakeTime: encodeHistogram(this.handshakeTime),
    };
  }

  /** Adds another thread's results; the elapsed time is the longest of the two, as the threads ran together. */
  add(other: TallySnapshot): void {
    this.sent += other.sent;
    this.received += other.received;
    this.bytesSent += other.bytesSent;
    this.bytesReceived += other.bytesReceived;
    this.mismatches += other.mismatches;
    this.lost += other.lost;
    this.errors += other.errors;
    this.handshakes += other.handshakes;
    this.elapsedMs = Math.max(this.elapsedMs, other.elapsedMs);
    for (const record of other.firstErrors) {
      if (this.firstErrors.length < ERRORS_KEPT) this.firstErrors.push(record);
    }
    this.firstMismatch ??= other.firstMismatch;
    this.latency.add(decodeHistogram(other.latency));
    this.handshakeTime.add(decodeHistogram(other.handshakeTime));
  }
}

/** A Tally in a form that survives `postMessage`. */
export interface TallySnapshot {
  sent: number;
  received: number;
  bytesSent: number;
  bytesReceived: number;
  mismatches: number;
  lost: number;
  errors: number;
  handshakes: number;
  elapsedMs: number;
  firstErrors: ErrorRecord[];
  firstMismatch: string | undefined;
  latency: string;
  handshakeTime: string;
}

function toErrorRecord(error: unknown): ErrorRecord {
  if (isTlsechoError(error)) {
    return {
      code: error.code,
      exitCode: error.exitCode,
      message: error.message,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'ERR_INTERNAL', exitCode: ExitCode.INTERNAL, message };
}

/** The typed error a record stands for, so `main` prints it and exits with its code. */
export function fromErrorRecord(record: ErrorRecord, message = record.message): TlsechoError {
  return new TlsechoError(
    message,
    record.code,
    record.exitCode as ExitCode,
    record.hint === undefined ? {} : { hint: record.hint },
  );
}
