import { InterruptedError, TimeoutError, isTlsechoError, type TlsechoError } from '../errors.js';
import type { Io } from '../io.js';

interface SessionSignal {
  /** Aborted with a TimeoutError when the deadline passes, or an InterruptedError on SIGINT/SIGTERM. */
  signal: AbortSignal;
  dispose(): void;
}

/**
 * One signal for everything that ends a client run early: the `--timeout` deadline (when set) and Ctrl-C.
 * `describeTimeout` builds the message when the deadline passes, so it can say how far the run got.
 */
export function createSessionSignal(
  io: Io,
  timeoutMs: number | undefined,
  describeTimeout: () => string | { message: string; hint?: string },
): SessionSignal {
  const timeoutError = () => {
    const description = describeTimeout();
    return typeof description === 'string'
      ? new TimeoutError(description)
      : new TimeoutError(description.message, { hint: description.hint });
  };
  const controller = new AbortController();
  const timer =
    timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(timeoutError()), timeoutMs);
  const interrupt = () => controller.abort(new InterruptedError());
  const unsubscribe = [io.onSignal('SIGINT', interrupt), io.onSignal('SIGTERM', interrupt)];
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      for (const off of unsubscribe) off();
    },
  };
}

/** The error an aborted signal ends a client run with: its own reason when typed, otherwise an interruption. */
export function abortReason(signal: AbortSignal): TlsechoError {
  return isTlsechoError(signal.reason) ? signal.reason : new InterruptedError();
}
