import type { Handler, HandlerSession } from './types.js';

// Stateless, so every connection shares one session.
const ECHO_SESSION: HandlerSession = { message: (frame) => frame };

/**
 * Sends every message back unchanged: the seed's echo behaviour. Connections recognise it and echo the
 * received bytes frame by frame without decoding them (see `echoesUnchanged`).
 */
export const echoHandler: Handler = {
  name: 'echo',
  echoesUnchanged: true,
  open: () => ECHO_SESSION,
};
