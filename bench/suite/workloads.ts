// The suite's workloads: which `tlsecho bench` flags each runs, which figure of its report is compared,
// and the target for tlsecho / baseline.

/** A workload: the `tlsecho bench` flags, and which figure of its report is compared. */
export interface Workload {
  id: string;
  title: string;
  args: string[];
  metric: 'messagesPerSecond' | 'mbPerSecondIn' | 'handshakesPerSecond';
  unit: string;
  /** tlsecho / baseline: at least `ratio` of the figure, and at most `cpuRatio` of the CPU per message. */
  target: { ratio: number; cpuRatio?: number };
}

export const WORKLOADS: Workload[] = [
  {
    id: 'pingpong-64b',
    title: '64 B ping-pong, 1 connection',
    args: ['-c', '1', '-s', '64', '--pipeline', '1'],
    metric: 'messagesPerSecond',
    unit: 'msgs/s',
    target: { ratio: 1.0 },
  },
  {
    id: 'pipelined-1k',
    title: '1 KiB pipelined 32 deep, 1 connection',
    args: ['-c', '1', '-s', '1KiB', '--pipeline', '32'],
    metric: 'messagesPerSecond',
    unit: 'msgs/s',
    target: { ratio: 1.0 },
  },
  {
    id: 'conns50-1k',
    title: '50 connections × 1 KiB ping-pong',
    args: ['-c', '50', '-s', '1KiB', '--pipeline', '1'],
    metric: 'messagesPerSecond',
    unit: 'msgs/s',
    target: { ratio: 1.0 },
  },
  {
    id: 'pipelined-64k',
    title: '64 KiB pipelined 8 deep, 1 connection',
    args: ['-c', '1', '-s', '64KiB', '--pipeline', '8'],
    metric: 'mbPerSecondIn',
    unit: 'MB/s',
    target: { ratio: 1.0 },
  },
  {
    id: 'handshakes',
    title: 'TLS handshakes (new connection per 64 B message, 4 at a time)',
    args: ['--handshakes', '-c', '4', '-s', '64'],
    metric: 'handshakesPerSecond',
    unit: 'handshakes/s',
    target: { ratio: 0.95 },
  },
];

// The relay benchmark (bench/relay.ts): the same load through `tlsecho proxy` and through a raw TLS byte
// relay, each in front of one `tlsecho serve`. The targets allow the proxy 10% less throughput and 20% more
// CPU per message than the relay, for its framing, display and flow control.
const RELAY_TARGET = { ratio: 0.9, cpuRatio: 1.2 };

export const RELAY_WORKLOADS: Workload[] = [
  {
    id: 'relay-pingpong-64b',
    title: 'relay: 64 B ping-pong, 1 connection',
    args: ['-c', '1', '-s', '64', '--pipeline', '1'],
    metric: 'messagesPerSecond',
    unit: 'msgs/s',
    target: RELAY_TARGET,
  },
  {
    id: 'relay-pipelined-64k',
    title: 'relay: 64 KiB pipelined 8 deep, 1 connection',
    args: ['-c', '1', '-s', '64KiB', '--pipeline', '8'],
    metric: 'mbPerSecondIn',
    unit: 'MB/s',
    target: RELAY_TARGET,
  },
];

export const IDLE_ID = 'idle-memory';
export const IDLE_TARGET_BYTES = 32 * 1024;
