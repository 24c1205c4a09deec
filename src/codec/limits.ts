import { UsageError } from '../errors.js';

/** `{packet, N}` header sizes, plus newline-delimited frames as Erlang's `{packet, line}`. */
export type HeaderSize = 1 | 2 | 4;
export type PacketMode = HeaderSize | 'line';

export const PACKET_MODES: readonly PacketMode[] = [1, 2, 4, 'line'];

/** The largest payload an N-byte unsigned header can describe. */
export const INTRINSIC_MAX_FRAME: Readonly<Record<HeaderSize, number>> = {
  1: 0xff,
  2: 0xffff,
  4: 0xffff_ffff,
};

/**
 * 8 MiB: big enough for any message a person types or a test sends, small enough that a peer's lie costs
 * little. Erlang's `packet_size` defaults to 0 (unlimited), which is why its servers can be made to buffer
 * gigabytes; we prefer a limit the user raises on purpose.
 */
export const DEFAULT_MAX_FRAME_4 = 8 * 1024 * 1024;

/** The default maximum for a mode: the header's own limit for 1 and 2 bytes, 8 MiB otherwise. */
export function defaultMaxFrame(mode: PacketMode): number {
  return mode === 1 || mode === 2 ? INTRINSIC_MAX_FRAME[mode] : DEFAULT_MAX_FRAME_4;
}

/** Parses `1`, `2`, `4` or `line`; anything else (Erlang would accept 3 and then break) is a usage error. */
export function parsePacketMode(value: string | number): PacketMode {
  const text = String(value).trim().toLowerCase();
  if (text === 'line') return 'line';
  if (text === '1' || text === '2' || text === '4') return Number(text) as HeaderSize;
  throw new UsageError(`invalid packet mode '${value}': use 1, 2, 4 or line`);
}

/** Checks a user-chosen maximum against what the mode's header can express. */
export function validateMaxFrame(mode: PacketMode, maxFrame: number): number {
  if (!Number.isSafeInteger(maxFrame) || maxFrame < 0) {
    throw new UsageError(`invalid maximum frame size ${maxFrame}: must be a whole number of bytes`);
  }
  const intrinsic = mode === 'line' ? INTRINSIC_MAX_FRAME[4] : INTRINSIC_MAX_FRAME[mode];
  if (maxFrame > intrinsic) {
    const what = mode === 'line' ? 'line mode' : `a ${mode}-byte header`;
    throw new UsageError(`maximum frame size ${maxFrame} is above the ${intrinsic}-byte limit of ${what}`);
  }
  return maxFrame;
}
