import type { PacketMode } from '../codec/limits.js';
import { formatDuration, formatSize } from '../units.js';
import { summariseHistogram, type LatencySummary } from './histogram.js';
import type { ErrorRecord, Tally } from './tally.js';

/** One run (one message size) as `--json` prints it. Rates are per second; MB are 10^6 bytes. */
export interface BenchResult {
  ok: boolean;
  size: number;
  packet: PacketMode;
  connections: number;
  pipeline: number;
  threads: number;
  /** Target arrival rate (open loop), when one was set. */
  rate: number | null;
  handshakeMode: boolean;
  elapsedMs: number;
  messages: { sent: number; received: number; mismatched: number; lost: number; errors: number };
  throughput: { messagesPerSecond: number; mbPerSecondOut: number; mbPerSecondIn: number };
  /** Round trip of each message, from when it was sent (or due, with a rate) to when its reply arrived. */
  latencyUs: LatencySummary;
  /** TLS handshakes; with `--plain`, TCP connects (there is no handshake). */
  handshakes: { count: number; perSecond: number | null; p50Us: number; p99Us: number; maxUs: number };
  errors: ErrorRecord[];
  firstMismatch: string | null;
}

interface RunShape {
  size: number;
  packet: PacketMode;
  connections: number;
  pipeline: number;
  threads: number;
  rate: number | undefined;
  handshakeMode: boolean;
}

export function toBenchResult(tally: Tally, shape: RunShape): BenchResult {
  const seconds = tally.elapsedMs / 1000;
  const perSecond = (n: number) => (seconds > 0 ? n / seconds : 0);
  const handshakeTimes = summariseHistogram(tally.handshakeTime);
  return {
    ok: tally.errors === 0 && tally.mismatches === 0 && tally.lost === 0,
    size: shape.size,
    packet: shape.packet,
    connections: shape.connections,
    pipeline: shape.handshakeMode ? 1 : shape.pipeline,
    threads: shape.threads,
    rate: shape.rate ?? null,
    handshakeMode: shape.handshakeMode,
    elapsedMs: round(tally.elapsedMs, 1),
    messages: {
      sent: tally.sent,
      received: tally.received,
      mismatched: tally.mismatches,
      lost: tally.lost,
      errors: tally.errors,
    },
    throughput: {
      messagesPerSecond: round(perSecond(tally.received), 1),
      mbPerSecondOut: round(perSecond(tally.bytesSent) / 1e6, 3),
      mbPerSecondIn: round(perSecond(tally.bytesReceived) / 1e6, 3),
    },
    latencyUs: summariseHistogram(tally.latency),
    handshakes: {
      count: tally.handshakes,
      perSecond: shape.handshakeMode ? round(perSecond(tally.handshakes), 1) : null,
      p50Us: handshakeTimes.p50,
      p99Us: handshakeTimes.p99,
      maxUs: handshakeTimes.max,
    },
    errors: tally.firstErrors,
    firstMismatch: tally.firstMismatch ?? null,
  };
}

/** The report a person reads: what ran, then one line per figure. */
export function formatBenchResult(result: BenchResult, target: string, plain = false): string {
  const lines: string[] = [];
  const conns = `${result.connections} connection${result.connections === 1 ? '' : 's'}`;
  const shape = result.handshakeMode
    ? `${conns} opened one after another, one message each`
    : `${conns}, pipeline ${result.pipeline}${result.rate === null ? '' : `, ${count(result.rate)} msgs/s offered`}`;
  const threads = result.threads > 1 ? `, ${result.threads} threads` : '';
  lines.push(
    `${target}: ${formatSize(result.size)} messages, packet ${result.packet}, ${shape}${threads}, ` +
      `${formatDuration(result.elapsedMs)} — ${result.ok ? 'ok' : 'FAILED'}`,
  );
  const m = result.messages;
  lines.push(
    `  messages     ${count(m.sent)} sent, ${count(m.received)} received, ${count(m.mismatched)} mismatched, ` +
      `${count(m.lost)} lost, ${count(m.errors)} errors`,
  );
  const t = result.throughput;
  lines.push(
    `  throughput   ${count(t.messagesPerSecond)} msgs/s, ${t.mbPerSecondOut.toFixed(2)} MB/s out, ` +
      `${t.mbPerSecondIn.toFixed(2)} MB/s in`,
  );
  const l = result.latencyUs;
  if (l.count > 0) {
    lines.push(
      `  latency      p50 ${us(l.p50)}  p90 ${us(l.p90)}  p99 ${us(l.p99)}  p99.9 ${us(l.p999)}  max ${us(l.max)}`,
    );
  }
  const h = result.handshakes;
  if (h.count > 0) {
    const rate = h.perSecond === null ? '' : `${count(h.perSecond)}/s, `;
    // Over plain TCP the timed step is the TCP connect: named so, not a handshake that never happened.
    lines.push(
      `  ${plain ? 'connects     ' : 'handshakes   '}${rate}${count(h.count)} in all, p50 ${us(h.p50Us)}  p99 ${us(h.p99Us)}`,
    );
  }
  for (const error of result.errors) lines.push(`  error        ${error.message}`);
  if (result.messages.errors > result.errors.length) {
    lines.push(`  error        … and ${result.messages.errors - result.errors.length} more`);
  }
  if (result.firstMismatch !== null) lines.push(`  mismatch     ${result.firstMismatch}`);
  return `${lines.join('\n')}\n`;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Microseconds as people read them: 850µs, 1.25ms, 2.1s. */
function us(value: number): string {
  if (value < 1000) return `${Math.round(value)}µs`;
  if (value < 1_000_000) return `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)}ms`;
  return `${(value / 1_000_000).toFixed(2)}s`;
}
