// Entry point of a load worker thread: runs one ThreadPlan and reports to the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import type { ThreadPlan } from './options.js';
import { prepareThread } from './thread-run.js';
import { PROGRESS_INTERVAL_MS, type FromWorker, type ToWorker } from './threads.js';

const port = parentPort!;
const send = (message: FromWorker) => port.postMessage(message);

try {
  const prepared = await prepareThread(workerData as ThreadPlan);
  port.on('message', (message: ToWorker) => {
    if (message.type === 'stop') {
      prepared.stop();
      return;
    }
    const progress = setInterval(
      () => send({ type: 'progress', received: prepared.tally.received }),
      PROGRESS_INTERVAL_MS,
    );
    prepared.start().then(
      (tally) => {
        clearInterval(progress);
        send({ type: 'done', tally: tally.toSnapshot() });
      },
      (error: unknown) => reportFailure(error),
    );
  });
  send({ type: 'ready' });
} catch (error) {
  reportFailure(error);
}

function reportFailure(error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  send({ type: 'failed', message: err.message, ...(err.stack ? { stack: err.stack } : {}) });
}
