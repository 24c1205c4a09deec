import type { Socket } from 'node:net';
import type { Decoder } from '../codec/decoder.js';
import { ConnectionError, TimeoutError } from '../errors.js';
import { describeSocketError } from '../tls/errors.js';
import { formatDuration } from '../units.js';
import type { Dialer } from './dialer.js';
import type { ThreadClock } from './connection-driver.js';
import type { PayloadFactory } from './payload.js';
import type { Tally } from './tally.js';

interface HandshakeLoopSettings {
  label: string;
  index: number;
  timeoutMs: number;
  /** Exchanges to make before stopping; Infinity for a timed run. */
  quota: number;
}

/**
 * One slot of a handshake benchmark: connect, verify, exchange one message, close, and again, until
 * stopped. A full handshake every time (no session resumption), which is the cost a server pays for a
 * client it has not seen.
 */
export class HandshakeLoop {
  #stopped = false;
  #sequence = 0;

  constructor(
    private readonly dialer: Dialer,
    private readonly createDecoder: () => Decoder,
    private readonly payloads: PayloadFactory,
    private readonly tally: Tally,
    private readonly clock: ThreadClock,
    private readonly settings: HandshakeLoopSettings,
  ) {}

  stop(): void {
    this.#stopped = true;
  }

  async run(): Promise<void> {
    const { tally } = this;
    while (!this.#stopped && this.#sequence < this.settings.quota) {
      let socket: Socket;
      try {
        const opened = await this.dialer.open();
        socket = opened.socket;
        tally.handshakes += 1;
        tally.handshakeTime.recordValue(Math.max(1, Math.round(opened.handshakeMs * 1000)));
      } catch (error) {
        // A refused or failed handshake fails the run; retrying in a tight loop would only repeat it.
        tally.recordError(error);
        return;
      }
      const sequence = this.#sequence++;
      try {
        await this.#exchange(socket, sequence);
      } catch (error) {
        tally.recordError(error);
        tally.lost += 1;
        socket.destroy();
        return;
      }
      socket.end();
      // A server that never closes its side must not keep its sockets, or the benchmark, alive.
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    }
  }

  // Sends one message and waits for its reply on a fresh connection.
  #exchange(socket: Socket, sequence: number): Promise<void> {
    const { tally, payloads, settings } = this;
    const decoder = this.createDecoder();
    return new Promise<void>((resolve, reject) => {
      let sentAt = 0;
      let settled = false;
      const settle = (error?: unknown) => {
        if (settled) return;
        settled = true;
        socket.off('data', onData);
        socket.off('timeout', onTimeout);
        socket.off('end', onClose);
        socket.off('close', onClose);
        // Errors after the exchange (a reset as we close) no longer matter, but must have a listener.
        socket.off('error', onError);
        socket.on('error', ignore);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onReply = (reply: Buffer) => {
        const now = performance.now();
        tally.received += 1;
        this.clock.lastReplyAt = now;
        if (!payloads.matches(reply, sequence)) {
          tally.recordMismatch(
            `handshake loop ${settings.index}: reply to message ${sequence} differs from what was sent` +
              ` (${reply.length} bytes, expected ${payloads.size})`,
          );
        } else {
          tally.latency.recordValue(Math.max(1, Math.round((now - sentAt) * 1000)));
        }
        settle();
      };
      const onData = (chunk: Buffer) => {
        tally.bytesReceived += chunk.length;
        try {
          decoder.push(chunk, onReply);
        } catch (error) {
          settle(error);
        }
      };
      const onTimeout = () =>
        settle(new TimeoutError(`no reply from ${settings.label} for ${formatDuration(settings.timeoutMs)}`));
      const onClose = () =>
        settle(
          new ConnectionError(`${settings.label} closed the connection before replying`, {
            code: 'ERR_CONNECTION_CLOSED',
          }),
        );
      const onError = (error: Error) => settle(describeSocketError(error, settings.label, 'session'));
      socket.on('data', onData);
      socket.on('timeout', onTimeout);
      socket.on('end', onClose);
      socket.on('close', onClose);
      socket.on('error', onError);
      const frame = payloads.frames(sequence, 1);
      sentAt = performance.now();
      tally.sent += 1;
      tally.bytesSent += frame.length;
      socket.write(frame);
    });
  }
}

const CLOSE_GRACE_MS = 2000;

function ignore(): void {}
