import type { ProxyHeaderVersion } from '../client/proxy-header.js';
import type { PacketMode } from '../codec/limits.js';
import type { ClientTlsSettings } from '../tls/options.js';

/** Where the load goes. `label` is how messages name it (`host:port`). */
export interface BenchTarget {
  host: string;
  port: number;
  label: string;
  /** Open every connection with this PROXY protocol header, for a server behind a balancer. */
  proxyHeader?: ProxyHeaderVersion;
  /** Plain TCP without TLS (`--plain`), for `gen_tcp` services; the TLS settings are then not used. */
  plain?: boolean;
}

/** Everything `tlsecho bench` was asked to do, with files already read and flags already checked. */
export interface BenchOptions {
  target: BenchTarget;
  tls: ClientTlsSettings;
  connections: number;
  /** One run per size, in order. */
  sizes: number[];
  /** Frames in flight per connection (with `rate`: the most that may be in flight). */
  pipeline: number;
  /** Length of the measured period; ignored when `messages` is set. */
  durationMs: number;
  /** Total messages (or handshakes) over all connections, instead of a duration. */
  messages?: number;
  /** Traffic sent and verified before measuring, to let both ends warm up. */
  warmupMs: number;
  /** Fixed arrival rate over all connections, in messages per second (open loop). */
  rate?: number;
  /** A new TLS connection for every exchange, to measure handshakes. */
  handshakes: boolean;
  threads: number;
  packet: PacketMode;
  maxFrame?: number;
  /** How long a connection may wait for a reply or a handshake before the run gives up on it. */
  timeoutMs: number;
  json: boolean;
  color?: boolean;
}

/** What one thread runs for one size: plain data, so it can be posted to a worker thread. */
export interface ThreadPlan {
  target: BenchTarget;
  tls: ClientTlsSettings;
  size: number;
  packet: PacketMode;
  maxFrame?: number;
  pipeline: number;
  handshakes: boolean;
  timeoutMs: number;
  warmupMs: number;
  /** Undefined with `quotas`: the run ends when every quota is met. */
  durationMs?: number;
  /** Messages (or handshakes) per connection when the run is counted instead of timed. */
  quotas?: number[];
  /** Number of connections (or concurrent handshake loops) this thread drives. */
  connections: number;
  /** Messages per second per connection, for open-loop runs. */
  ratePerConnection?: number;
  /** Numbers the connections in error messages across threads. */
  firstConnection: number;
}
