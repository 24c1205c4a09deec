// Server memory per idle connection: the server's resident set before and after this process opens N TLS
// connections to it and leaves them idle.
import { connect, type TLSSocket } from 'node:tls';
import { residentBytes } from './servers.js';

const CONCURRENT_HANDSHAKES = 32;
const SETTLE_POLL_MS = 250;
const SETTLE_MAX_MS = 5000;

export interface IdleMemoryResult {
  connections: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerConnection: number;
}

export async function measureIdleMemory(
  pid: number,
  port: number,
  ca: string,
  connections: number,
): Promise<IdleMemoryResult> {
  const rssBeforeBytes = await settledResidentBytes(pid);
  const sockets: TLSSocket[] = [];
  try {
    let next = 0;
    const opener = async () => {
      while (next < connections) {
        next += 1;
        sockets.push(await openIdle(port, ca));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT_HANDSHAKES }, opener));
    // The server may still be finishing its side of the last handshakes (TLS 1.3 session tickets).
    const rssAfterBytes = await settledResidentBytes(pid);
    return {
      connections,
      rssBeforeBytes,
      rssAfterBytes,
      bytesPerConnection: (rssAfterBytes - rssBeforeBytes) / connections,
    };
  } finally {
    for (const socket of sockets) socket.destroy();
  }
}

function openIdle(port: number, ca: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

// Reads RSS until two readings a moment apart agree within 1%, so a server still busy does not count.
async function settledResidentBytes(pid: number): Promise<number> {
  const deadline = Date.now() + SETTLE_MAX_MS;
  let previous = await residentBytes(pid);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    const current = await residentBytes(pid);
    if (Math.abs(current - previous) <= previous * 0.01 || Date.now() > deadline) return current;
    previous = current;
  }
}
