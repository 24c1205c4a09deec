import { FrameDecoder, type Decoder } from './decoder.js';
import { createEncoder, type FrameEncoder } from './encoder.js';
import { defaultMaxFrame, validateMaxFrame, type PacketMode } from './limits.js';
import { LineDecoder } from './line.js';

/** A decoder for a mode: `{packet, N}` or line. */
export function createDecoder(mode: PacketMode, maxFrame = defaultMaxFrame(mode)): Decoder {
  return mode === 'line' ? new LineDecoder(maxFrame) : new FrameDecoder(mode, maxFrame);
}

export interface Framing {
  readonly mode: PacketMode;
  readonly maxFrame: number;
  readonly encoder: FrameEncoder;
  /** A fresh decoder: one per connection or stream, since decoders hold state. */
  createDecoder(): Decoder;
}

/** The encoder and decoder factory for one mode and limit, validated once. */
export function createFraming(mode: PacketMode, maxFrame = defaultMaxFrame(mode)): Framing {
  validateMaxFrame(mode, maxFrame);
  return {
    mode,
    maxFrame,
    encoder: createEncoder(mode, maxFrame),
    createDecoder: () => createDecoder(mode, maxFrame),
  };
}
