// The measuring loop the suite and the relay benchmark share: one unmeasured pass, then rounds that run each
// workload against tlsecho and the baseline in turn, alternating which goes first.
import type { Credentials, RunningServer } from '../servers.js';
import { runWorkload, type Outcome } from './run-workload.js';
import type { Workload } from './workloads.js';

// The unmeasured pass's length per workload and side.
const WARM_UP_PASS_DURATION = '1s';

export interface PairedRounds {
  workloads: readonly Workload[];
  tlsecho: RunningServer;
  baseline: RunningServer;
  credentials: Credentials;
  rounds: number;
  /** Each measured run's `--duration` and `--warmup`. */
  duration: string;
  warmup: string;
  /** Receives every measured run, in the order they ran. */
  measured(workload: Workload, side: 'tlsecho' | 'baseline', round: number, outcome: Outcome | string): void;
  log(line: string): void;
}

export async function runPairedRounds(options: PairedRounds): Promise<void> {
  const { workloads, tlsecho, baseline, credentials } = options;
  // One unmeasured pass first: a server's first seconds (JIT compilation, first TLS sessions) would
  // otherwise weigh on whichever workload comes first.
  for (const workload of workloads) {
    for (const server of [tlsecho, baseline]) {
      await runWorkload(workload, server, credentials, WARM_UP_PASS_DURATION, '0s');
    }
  }
  options.log('warm-up pass done');
  for (let round = 0; round < options.rounds; round++) {
    for (const workload of workloads) {
      // Alternate which side goes first, so neither always runs second on a warmer machine.
      const order = round % 2 === 0 ? [tlsecho, baseline] : [baseline, tlsecho];
      for (const server of order) {
        const outcome = await runWorkload(workload, server, credentials, options.duration, options.warmup);
        options.measured(workload, server === tlsecho ? 'tlsecho' : 'baseline', round, outcome);
      }
    }
  }
}
