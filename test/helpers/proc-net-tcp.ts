import { readFileSync } from 'node:fs';

/** One IPv4 TCP socket as Linux lists it in /proc/net/tcp. */
export interface TcpSocketRow {
  /** `0100007F:1F40` for 127.0.0.1:8000: the address little-endian hex, the port big-endian hex. */
  local: string;
  /** `0A` listening, `01` established, … */
  state: string;
  /** Bytes received and not yet read by the process. */
  receiveQueue: number;
  inode: string;
}

/** The 127.0.0.1 address and `port` as /proc/net/tcp writes them. */
export function loopbackAddress(port: number): string {
  return `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The IPv4 TCP sockets of this machine's network namespace, for tests that must see what the kernel sees
 * (a receive queue, which process holds a listening socket). Linux only, as the tests using it.
 */
export function tcpSockets(): TcpSocketRow[] {
  return readFileSync('/proc/net/tcp', 'latin1')
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
      const fields = line.trim().split(/\s+/);
      return {
        local: fields[1]!,
        state: fields[3]!,
        receiveQueue: parseInt(fields[4]!.split(':')[1]!, 16),
        inode: fields[9]!,
      };
    });
}
