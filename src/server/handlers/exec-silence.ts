// The buffering trap: a program writing to a pipe (python3, most C programs through stdio) holds its output
// in a 4-8 KiB buffer until it fills or the program exits, so an `exec:` child that answers each line on a
// terminal answers nothing over tlsecho, and clients time out. This watches one child: messages written to
// it, output read from it. When messages have gone unanswered for a while, it reports once (per handler,
// not per connection) with the usual remedies.

/** How long a child may sit on messages without writing anything before the log says so. */
const SILENT_CHILD_MS = 3000;

/** Shared by every connection of one `exec:` handler, so the log says it once. */
export interface SilenceReport {
  reported: boolean;
}

export class SilentChildWatch {
  readonly #afterMs: number;
  readonly #report: SilenceReport;
  readonly #onSilent: (unanswered: number, afterMs: number) => void;
  #unanswered = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    report: SilenceReport,
    onSilent: (unanswered: number, afterMs: number) => void,
    afterMs = SILENT_CHILD_MS,
  ) {
    this.#report = report;
    this.#onSilent = onSilent;
    this.#afterMs = afterMs;
  }

  /** A message went to the child's stdin. */
  sent(): void {
    this.#unanswered++;
    if (this.#timer !== undefined || this.#report.reported) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#report.reported) return;
      this.#report.reported = true;
      this.#onSilent(this.#unanswered, this.#afterMs);
    }, this.#afterMs);
    // Never what keeps a stopping server alive.
    this.#timer.unref();
  }

  /** The child wrote on stdout: it answers. */
  replied(): void {
    this.#unanswered = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The child exited or the connection closed. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** The log line: what was seen, the likely cause, and the fixes. */
export function describeSilentChild(command: string, unanswered: number, afterMs: number): string {
  const messages = unanswered === 1 ? '1 message' : `${unanswered} messages`;
  return (
    `exec:${command} has been sent ${messages} and has written nothing for ${afterMs / 1000}s; ` +
    'if it buffers its output on a pipe, make it line-buffered (python3 -u, stdbuf -oL COMMAND, ' +
    'or flush after each line)'
  );
}
