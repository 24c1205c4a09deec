import { createDecoder } from '../codec/framing.js';
import { defaultMaxFrame } from '../codec/limits.js';
import { createDialer } from './dialer.js';
import { ConnectionDriver, type ThreadClock } from './connection-driver.js';
import { HandshakeLoop } from './handshake-driver.js';
import type { ThreadPlan } from './options.js';
import { PayloadFactory } from './payload.js';
import { Tally } from './tally.js';

/** One thread's share of a run, connected and waiting for the signal to start. */
export interface PreparedThread {
  /** Live counters, for progress. */
  readonly tally: Tally;
  /** Runs the measured period; resolves with the tally once every connection has finished. */
  start(): Promise<Tally>;
  /** Ends the run early (Ctrl-C): nothing more is sent, replies in flight are awaited. */
  stop(): void;
}

// Opening thousands of connections at once would measure the listen backlog, not the server.
const CONCURRENT_CONNECTS = 64;

/**
 * Opens this thread's connections (handshake runs open theirs as they go), so that every thread starts
 * measuring at the same moment, after the set-up is over.
 */
export async function prepareThread(plan: ThreadPlan): Promise<PreparedThread> {
  const tally = new Tally();
  const clock: ThreadClock = { lastReplyAt: 0 };
  const maxFrame = plan.maxFrame ?? defaultMaxFrame(plan.packet);
  const payloads = new PayloadFactory(plan.size, plan.packet, maxFrame);
  // A handshake run reads one small reply per connection: a reused buffer per connection would cost more
  // than the one allocation it saves.
  const dialer = createDialer(plan.target, plan.tls, plan.timeoutMs, { reuseReadBuffer: !plan.handshakes });
  const quotaOf = (i: number) => plan.quotas?.[i] ?? Infinity;

  type Runner = { run(): Promise<void>; stop(): void };
  let runners: Runner[];
  if (plan.handshakes) {
    runners = Array.from(
      { length: plan.connections },
      (_, i) =>
        new HandshakeLoop(dialer, () => createDecoder(plan.packet, maxFrame), payloads, tally, clock, {
          label: plan.target.label,
          index: plan.firstConnection + i,
          timeoutMs: plan.timeoutMs,
          quota: quotaOf(i),
        }),
    );
  } else {
    runners = [];
    await forEachLimited(plan.connections, CONCURRENT_CONNECTS, async (i) => {
      try {
        const { socket, handshakeMs, reads } = await dialer.open();
        tally.handshakes += 1;
        tally.handshakeTime.recordValue(Math.max(1, Math.round(handshakeMs * 1000)));
        runners.push(
          new ConnectionDriver(
            socket,
            reads,
            () => createDecoder(plan.packet, maxFrame),
            payloads,
            tally,
            clock,
            {
              label: plan.target.label,
              index: plan.firstConnection + i,
              pipeline: plan.pipeline,
              timeoutMs: plan.timeoutMs,
              quota: quotaOf(i),
              ...(plan.ratePerConnection === undefined ? {} : { ratePerSecond: plan.ratePerConnection }),
            },
          ),
        );
      } catch (error) {
        tally.recordError(error);
      }
    });
  }

  let stopped = false;
  const stopRunners = () => {
    if (stopped) return;
    stopped = true;
    for (const runner of runners) runner.stop();
  };
  return {
    tally,
    // Before the start, this makes every runner finish at once when started.
    stop: stopRunners,
    async start() {
      let measureStart = performance.now();
      const timers: NodeJS.Timeout[] = [];
      if (plan.warmupMs > 0) {
        timers.push(
          setTimeout(() => {
            tally.resetMeasurements({ keepHandshakes: !plan.handshakes });
            measureStart = performance.now();
          }, plan.warmupMs),
        );
      }
      if (plan.durationMs !== undefined) {
        timers.push(setTimeout(stopRunners, plan.warmupMs + plan.durationMs));
      }
      await Promise.all(runners.map((runner) => runner.run()));
      for (const timer of timers) clearTimeout(timer);
      const end = clock.lastReplyAt > measureStart ? clock.lastReplyAt : performance.now();
      tally.elapsedMs = end - measureStart;
      return tally;
    },
  };
}

// Runs `task(0 … count-1)` with at most `limit` running at once.
async function forEachLimited(
  count: number,
  limit: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}
