import { setTimeout as delay } from 'node:timers/promises';
import { ConnectionError, TimeoutError, TlsFailureError, type TlsechoError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { formatDuration } from '../units.js';
import { abortReason } from './deadline.js';
import type { FramedClient } from './framed-client.js';

/** `--reconnect-max` when not given: about half a minute of trying with the default delay. */
export const DEFAULT_RECONNECT_MAX = 10;
/** `--reconnect-delay` when not given: the wait before the first attempt, doubled after each failure. */
export const DEFAULT_RECONNECT_DELAY_MS = 500;
// The doubling stops here (or at the initial delay, if that is longer): past it, a long outage costs one
// attempt every few seconds rather than one an hour.
export const MAX_RECONNECT_DELAY_MS = 5_000;

export interface ReconnectPolicy {
  /** Attempts after each drop before giving up; 0 means no limit (then only --timeout or Ctrl-C ends it). */
  maxAttempts: number;
  /** The delay before the first attempt; doubled after each failed one, up to `MAX_RECONNECT_DELAY_MS`. */
  initialDelayMs: number;
}

/**
 * The wait before attempt `attempt` (1-based): capped exponential back-off with "equal jitter" (AWS
 * Architecture Blog, "Exponential Backoff And Jitter"): half the step is fixed, half is random, so clients
 * that lost the same server at once do not all come back in the same millisecond, yet never retry at once.
 * `random` returns a number in [0, 1), as Math.random does; pure, so tests inject it.
 */
export function backoffDelay(attempt: number, policy: ReconnectPolicy, random: () => number): number {
  const cap = Math.max(policy.initialDelayMs, MAX_RECONNECT_DELAY_MS);
  // 2 ** 30 already exceeds any cap; the bound keeps the power finite for very long outages.
  const step = Math.min(cap, policy.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * Whether a connection that ended with `error` (or a failed attempt) is worth another try: the server went
 * away, refused, reset, or was too slow to answer. A server that answers but fails verification (another
 * certificate, a pin mismatch), or speaks another protocol, will say the same next time: that ends the run.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ConnectionError) return true;
  if (error instanceof TimeoutError) return true;
  // Closed during the handshake: a server restarting, or full (serve --max-connections).
  return error instanceof TlsFailureError && error.code === 'ERR_HANDSHAKE_RESET';
}

export interface ReconnectOptions {
  policy: ReconnectPolicy;
  /** `host:port` as the log lines show it. */
  target: string;
  log: Logger;
  /** Aborting (the session's --timeout, Ctrl-C) ends the waiting and the attempts with its reason. */
  signal?: AbortSignal;
  random?: () => number;
}

/** Outcome of one reconnection, for the summary. */
export interface Reconnected {
  client: FramedClient;
  /** Attempts it took (1 when the first one succeeded). */
  attempts: number;
}

/**
 * Dials again after a connection dropped with `reason`, with back-off between attempts, and one stderr line
 * before each: `reconnecting to HOST:PORT (attempt 2 of 10 in 0.9s): connection refused by HOST:PORT`, the
 * reason being the last failure. Each attempt is a whole new connection through `dial`, so it is verified
 * exactly as the first one was. Throws the last failure when the attempts run out, at once when a failure
 * cannot be cured by retrying (`isRetryable`), and the signal's reason when it aborts.
 */
export async function reconnect(
  dial: () => Promise<FramedClient>,
  reason: TlsechoError,
  options: ReconnectOptions,
): Promise<Reconnected> {
  const { policy, signal, log } = options;
  const random = options.random ?? Math.random;
  if (signal?.aborted) throw abortReason(signal);
  let last: TlsechoError = reason;
  for (let attempt = 1; policy.maxAttempts === 0 || attempt <= policy.maxAttempts; attempt++) {
    const wait = backoffDelay(attempt, policy, random);
    const of = policy.maxAttempts === 0 ? '' : ` of ${policy.maxAttempts}`;
    log.info(
      `reconnecting to ${options.target} (attempt ${attempt}${of} in ${formatDuration(wait)}): ${last.message}`,
      {
        event: 'reconnect',
        attempt,
        delayMs: wait,
        reason: last.code,
      },
    );
    try {
      await delay(wait, undefined, { signal });
    } catch {
      throw abortReason(signal!);
    }
    try {
      return { client: await dial(), attempts: attempt };
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      if (!isRetryable(error)) throw error;
      last = error as TlsechoError;
    }
  }
  const tries = policy.maxAttempts === 1 ? '1 attempt' : `${policy.maxAttempts} attempts`;
  throw givenUp(last, `gave up reconnecting to ${options.target} after ${tries}: ${last.message}`);
}

// The same class and code as the last failure, so the same exit code: 4 refused, 5 TLS, 6 timed out.
function givenUp(last: TlsechoError, message: string): TlsechoError {
  const options = {
    code: last.code,
    hint: last.hint ?? 'raise --reconnect-max, or pass --reconnect-max 0 to keep trying',
    cause: last,
  };
  if (last instanceof TimeoutError) return new TimeoutError(message, options);
  if (last instanceof TlsFailureError) return new TlsFailureError(message, options);
  return new ConnectionError(message, options);
}
