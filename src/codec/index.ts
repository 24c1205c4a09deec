export { FrameDecoder, type Decoder, type FrameHandler } from './decoder.js';
export { LineDecoder } from './line.js';
export {
  encodeFrame,
  encodeLine,
  encodeFrameToBuffer,
  frameHeader,
  createEncoder,
  type FrameEncoder,
} from './encoder.js';
export { createDecoder, createFraming, type Framing } from './framing.js';
export { FrameDecodeStream, FrameEncodeStream, writeFrames } from './streams.js';
export {
  DEFAULT_MAX_FRAME_4,
  INTRINSIC_MAX_FRAME,
  PACKET_MODES,
  defaultMaxFrame,
  parsePacketMode,
  validateMaxFrame,
  type HeaderSize,
  type PacketMode,
} from './limits.js';
