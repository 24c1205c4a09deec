import { atom, decodeTerm, encodeTerm, EtfError, tuple, type Term } from '../../etf/index.js';
import type { Handler, HandlerSession } from './types.js';

// The replies an Erlang peer pattern-matches on, encoded once.
const ERROR_BADARG = encodeTerm(tuple(atom('error'), atom('badarg')));
const ERROR_SYSTEM_LIMIT = encodeTerm(tuple(atom('error'), atom('system_limit')));

/**
 * `etf-echo`: each message is one Erlang term in External Term Format, and the reply is `{ok, Term}`, as an
 * Erlang server doing `term_to_binary({ok, binary_to_term(Message)})` sends it. The connection always goes
 * on, so a client sees why a message was refused instead of losing the session:
 * - a message that is not exactly one valid term gets `{error, badarg}` (what `binary_to_term/1` raises);
 * - one over a decoding limit (depth, size; see src/etf/limits.ts) gets `{error, system_limit}`;
 * - a reply over `maxFrame` (a compressed term inflates) is sent compressed, or if still too large, also
 *   `{error, system_limit}`.
 */
export function createEtfEchoHandler(maxFrame: number): Handler {
  const session: HandlerSession = {
    message: (frame) => {
      let term: Term;
      try {
        term = decodeTerm(frame);
      } catch (error) {
        if (!(error instanceof EtfError)) throw error;
        return error.code === 'ERR_ETF_LIMIT' ? ERROR_SYSTEM_LIMIT : ERROR_BADARG;
      }
      const reply = tuple(atom('ok'), term);
      const plain = encodeTerm(reply);
      if (plain.length <= maxFrame) return plain;
      const compressed = encodeTerm(reply, { compressed: true });
      return compressed.length <= maxFrame ? compressed : ERROR_SYSTEM_LIMIT;
    },
  };
  // Stateless, so every connection shares one session.
  return { name: 'etf-echo', open: () => session };
}
