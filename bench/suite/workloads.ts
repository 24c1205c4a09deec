// The suite's workloads: which `tlsecho bench` flags each runs, which figure of its report is compared,
// and the target for tlsecho / baseline.

/** A workload: the `tlsecho bench` flags, and which figure of its report is compared. */
export interface Workload {
  id: string;
  title: string;
  args: string[];
  metric: 'messagesPerSecond' | 'mbPerSecondIn' | 'handshakesPerSecond';
  unit: string;
  target: { ratio: number };
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

export const IDLE_ID = 'idle-memory';
export const IDLE_TARGET_BYTES = 32 * 1024;
