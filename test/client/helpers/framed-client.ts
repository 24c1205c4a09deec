import { onTestFinished } from 'vitest';
import { connectFramed, type ConnectFramedOptions } from '../../../src/client/dial.js';
import type { FramedClient } from '../../../src/client/framed-client.js';

// Opening a client that closes with the test, and reading what it receives.

export async function open(options: ConnectFramedOptions): Promise<FramedClient> {
  const client = await connectFramed(options);
  onTestFinished(() => client.destroy());
  return client;
}

export async function take(client: FramedClient, count: number): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  if (count === 0) return frames;
  for await (const received of client) {
    frames.push(Buffer.from(received));
    if (frames.length === count) break;
  }
  return frames;
}

export async function collectAll(client: FramedClient): Promise<{ frames: Buffer[]; error: unknown }> {
  const frames: Buffer[] = [];
  try {
    for await (const received of client) frames.push(Buffer.from(received));
    return { frames, error: undefined };
  } catch (error) {
    return { frames, error };
  }
}
