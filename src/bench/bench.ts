import { defaultMaxFrame } from '../codec/limits.js';
import {
  FrameTooLargeError,
  InterruptedError,
  MismatchError,
  UsageError,
  type TlsechoError,
} from '../errors.js';
import { startSpinner, type Io } from '../io.js';
import { formatSize } from '../units.js';
import type { BenchOptions, ThreadPlan } from './options.js';
import { PayloadFactory } from './payload.js';
import { formatBenchResult, toBenchResult, type BenchResult } from './report.js';
import { fromErrorRecord, Tally } from './tally.js';
import { startLocalThread, startWorkerThread, type LoadThread } from './threads.js';

const PROGRESS_REFRESH_MS = 500;

/** What `bench` returns: every run it made, and whether they all passed. */
export interface BenchReport {
  ok: boolean;
  target: string;
  results: BenchResult[];
}

/**
 * Drives a framed echo server with the load described by `options`, one run per message size, checks every
 * reply, prints the report on `io.stdout` (JSON with `options.json`), and throws the typed error of the first
 * failure so that the exit code says what went wrong: a connection or TLS failure, a timeout, or a mismatch.
 */
export async function bench(options: BenchOptions, io: Io): Promise<BenchReport> {
  checkSizes(options);
  const report: BenchReport = { ok: true, target: options.target.label, results: [] };
  let interrupted = false;
  let stopCurrent: () => void = () => {};
  const unsubscribe = io.onSignal('SIGINT', () => {
    interrupted = true;
    stopCurrent();
  });
  try {
    for (const size of options.sizes) {
      if (interrupted) break;
      const { result, stop } = runSize(options, size, io);
      stopCurrent = stop;
      const outcome = await result;
      report.results.push(outcome);
      if (!options.json)
        io.stdout.write(formatBenchResult(outcome, options.target.label, options.target.plain));
      if (!outcome.ok) {
        report.ok = false;
        break;
      }
    }
  } finally {
    unsubscribe();
  }
  if (options.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const failure = firstFailure(report);
  if (failure) throw failure;
  if (interrupted) throw new InterruptedError('benchmark interrupted');
  return report;
}

function checkSizes(options: BenchOptions): void {
  const maxFrame = options.maxFrame ?? defaultMaxFrame(options.packet);
  for (const size of options.sizes) {
    try {
      new PayloadFactory(size, options.packet, maxFrame);
    } catch (error) {
      if (error instanceof FrameTooLargeError) {
        throw new UsageError(
          `--size ${size} is above the ${maxFrame}-byte maximum frame of packet ${options.packet}`,
          {
            hint: options.packet === 4 ? 'raise --max-frame' : 'use a larger --packet',
          },
        );
      }
      throw error;
    }
  }
}

function runSize(
  options: BenchOptions,
  size: number,
  io: Io,
): { result: Promise<BenchResult>; stop: () => void } {
  const plans = planThreads(options, size);
  const threads: LoadThread[] = plans.map((plan) =>
    plans.length > 1 ? startWorkerThread(plan) : startLocalThread(plan),
  );
  const stop = () => threads.forEach((thread) => thread.stop());
  const result = (async () => {
    const what = `${formatSize(size)} × ${options.connections} connection${options.connections === 1 ? '' : 's'}`;
    const spinner = startSpinner(io, `${what}: connecting`, { json: options.json, color: options.color });
    let progress: NodeJS.Timeout | undefined;
    try {
      await Promise.all(threads.map((thread) => thread.ready));
      const startedAt = performance.now();
      threads.forEach((thread) => thread.start());
      let lastCount = 0;
      let lastAt = startedAt;
      progress = setInterval(() => {
        const now = performance.now();
        const received = threads.reduce((sum, thread) => sum + thread.received(), 0);
        const rate = ((received - lastCount) * 1000) / (now - lastAt);
        lastCount = received;
        lastAt = now;
        spinner.update(
          `${what}: ${Math.round(rate).toLocaleString('en-US')} msgs/s, ${((now - startedAt) / 1000).toFixed(1)}s elapsed`,
        );
      }, PROGRESS_REFRESH_MS);
      const snapshots = await Promise.all(threads.map((thread) => thread.result));
      const tally = new Tally();
      for (const snapshot of snapshots) tally.add(snapshot);
      return toBenchResult(tally, {
        size,
        packet: options.packet,
        connections: options.connections,
        pipeline: options.pipeline,
        threads: plans.length,
        rate: options.rate,
        handshakeMode: options.handshakes,
      });
    } finally {
      if (progress !== undefined) clearInterval(progress);
      spinner.stop();
      await Promise.all(threads.map((thread) => thread.close()));
    }
  })();
  return { result, stop };
}

/** Splits the connections (and the message count or rate) as evenly as possible over the threads. */
export function planThreads(options: BenchOptions, size: number): ThreadPlan[] {
  const threadCount = Math.max(1, Math.min(options.threads, options.connections));
  const quotas = options.messages === undefined ? undefined : spread(options.messages, options.connections);
  const perThread = spread(options.connections, threadCount);
  const plans: ThreadPlan[] = [];
  let first = 0;
  for (const connections of perThread) {
    plans.push({
      target: options.target,
      tls: options.tls,
      size,
      packet: options.packet,
      ...(options.maxFrame === undefined ? {} : { maxFrame: options.maxFrame }),
      pipeline: options.pipeline,
      handshakes: options.handshakes,
      timeoutMs: options.timeoutMs,
      warmupMs: options.messages === undefined ? options.warmupMs : 0,
      ...(quotas === undefined
        ? { durationMs: options.durationMs }
        : { quotas: quotas.slice(first, first + connections) }),
      connections,
      ...(options.rate === undefined ? {} : { ratePerConnection: options.rate / options.connections }),
      firstConnection: first + 1,
    });
    first += connections;
  }
  return plans;
}

// `total` split into `parts` whole numbers that differ by at most one, larger first.
function spread(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const extra = total % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

/** The error that decides the exit code: a connection or TLS failure first, then mismatches and losses. */
function firstFailure(report: BenchReport): TlsechoError | undefined {
  for (const result of report.results) {
    const first = result.errors[0];
    if (first) {
      const more = result.messages.errors - 1;
      return fromErrorRecord(first, more > 0 ? `${first.message} (and ${more} more errors)` : first.message);
    }
    const { mismatched, lost, received } = result.messages;
    if (mismatched > 0 || lost > 0) {
      const parts = [];
      if (mismatched > 0) parts.push(`${mismatched} of ${received} replies differed from what was sent`);
      if (lost > 0) parts.push(`${lost} message${lost === 1 ? '' : 's'} got no reply`);
      return new MismatchError(`echo check failed against ${report.target}: ${parts.join(', ')}`, {
        ...(result.firstMismatch === null ? {} : { hint: `first: ${result.firstMismatch}` }),
      });
    }
  }
  return undefined;
}
