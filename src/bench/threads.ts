import { Worker } from 'node:worker_threads';
import type { ThreadPlan } from './options.js';
import type { TallySnapshot } from './tally.js';
import { prepareThread, type PreparedThread } from './thread-run.js';

/** A share of the load, run either in this thread or in a worker; the orchestration is the same. */
export interface LoadThread {
  /** Resolves when the connections are open. */
  readonly ready: Promise<void>;
  /** Resolves with the results once started and finished. */
  readonly result: Promise<TallySnapshot>;
  start(): void;
  stop(): void;
  /** Replies received so far (as of the last progress report, for a worker). */
  received(): number;
  close(): Promise<void>;
}

/** Messages between the main thread and a worker. */
export type ToWorker = { type: 'start' } | { type: 'stop' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; received: number }
  | { type: 'done'; tally: TallySnapshot }
  | { type: 'failed'; message: string; stack?: string };

export const PROGRESS_INTERVAL_MS = 250;

export function startLocalThread(plan: ThreadPlan): LoadThread {
  let prepared: PreparedThread | undefined;
  let startRun: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    startRun = resolve;
  });
  const ready = prepareThread(plan).then((p) => {
    prepared = p;
  });
  const result = ready
    .then(() => started)
    .then(() => prepared!.start())
    .then((tally) => tally.toSnapshot());
  return {
    ready,
    result,
    start: () => startRun(),
    stop: () => prepared?.stop(),
    received: () => prepared?.tally.received ?? 0,
    close: async () => {},
  };
}

export function startWorkerThread(plan: ThreadPlan): LoadThread {
  // Under a TypeScript loader (tests, `node --import tsx`), the worker is the .ts file beside this one.
  const isSource = import.meta.url.endsWith('.ts');
  const worker = new Worker(new URL(isSource ? './worker.ts' : './worker.js', import.meta.url), {
    workerData: plan,
    ...(isSource ? { execArgv: ['--import', 'tsx'] } : {}),
  });
  let received = 0;
  let markReady: () => void = () => {};
  let failReady: (error: Error) => void = () => {};
  let finish: (tally: TallySnapshot) => void = () => {};
  let fail: (error: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  const result = new Promise<TallySnapshot>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  // Whoever awaits only one of the two must not see the other as an unhandled rejection.
  ready.catch(() => {});
  result.catch(() => {});
  const failBoth = (error: Error) => {
    failReady(error);
    fail(error);
  };
  worker.on('message', (message: FromWorker) => {
    switch (message.type) {
      case 'ready':
        markReady();
        break;
      case 'progress':
        received = message.received;
        break;
      case 'done':
        received = message.tally.received;
        finish(message.tally);
        break;
      case 'failed': {
        const error = new Error(message.message);
        if (message.stack) error.stack = message.stack;
        failBoth(error);
        break;
      }
    }
  });
  worker.on('error', failBoth);
  worker.on('exit', (code) => failBoth(new Error(`load worker exited early with code ${code}`)));
  const post = (message: ToWorker) => worker.postMessage(message);
  return {
    ready,
    result,
    start: () => post({ type: 'start' }),
    stop: () => post({ type: 'stop' }),
    received: () => received,
    close: async () => {
      await worker.terminate();
    },
  };
}
