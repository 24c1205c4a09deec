import {
  atom,
  decodeTerm,
  DEFAULT_ETF_LIMITS,
  encodeTerm,
  EtfError,
  tuple,
  type EtfLimits,
  type Term,
} from '../../etf/index.js';
import type { Handler, HandlerSession, SessionContext } from './types.js';

// The replies an Erlang peer pattern-matches on, encoded once.
const ERROR_BADARG = encodeTerm(tuple(atom('error'), atom('badarg')));
const ERROR_SYSTEM_LIMIT = encodeTerm(tuple(atom('error'), atom('system_limit')));

// The work budget of one frame. Without it a 64 KiB frame of compressed zeros inflated to 64 MiB, and a
// 2 KiB one to a list of a million integers, each costing the event loop about a second for a few bytes
// received. An uncompressed term can never hold more terms than it has bytes (every term takes at least one),
// so these bounds only reach compressed terms, and make them cost at most what the same bytes uncompressed
// would: work grows with the bytes a client sends, never with what they claim to expand to.
/** A compressed term may inflate to this many times its frame's size, and never beyond --max-frame. */
export const ETF_MAX_INFLATION = 16;
/** A compressed term may always inflate this far: a small frame costs next to nothing to inflate to 64 KiB. */
export const ETF_MIN_DECOMPRESSED = 64 * 1024;
/** A term may hold as many terms as its frame has bytes, and this many whatever the frame's size. */
export const ETF_MIN_ELEMENTS = 4096;

/** What decoding one frame may cost: the limits `decodeTerm` enforces for it. */
export function etfFrameBudget(frameLength: number, maxFrame: number): Partial<EtfLimits> {
  const maxDecompressed = Math.min(Math.max(ETF_MIN_DECOMPRESSED, maxFrame), inflationBound(frameLength));
  const maxElements = Math.min(DEFAULT_ETF_LIMITS.maxElements, Math.max(ETF_MIN_ELEMENTS, frameLength));
  return { maxDecompressed, maxElements };
}

function inflationBound(frameLength: number): number {
  return Math.max(ETF_MIN_DECOMPRESSED, frameLength * ETF_MAX_INFLATION);
}

// The limits that bound work: a term over one of these is refused and its connection closed, since a client
// that sends them again and again would otherwise keep the server busy for nothing.
const WORK_LIMITS: ReadonlySet<keyof EtfLimits> = new Set(['maxDecompressed', 'maxElements']);

/**
 * `etf-echo`: each message is one Erlang term in External Term Format, and the reply is `{ok, Term}`, as an
 * Erlang server doing `term_to_binary({ok, binary_to_term(Message)})` sends it:
 * - a message that is not exactly one valid term gets `{error, badarg}` (what `binary_to_term/1` raises),
 *   and the session goes on;
 * - one nested too deep or holding too large an integer (see src/etf/limits.ts) gets `{error, system_limit}`,
 *   and the session goes on;
 * - one over its frame's work budget (`etfFrameBudget`: inflated size, number of terms) gets
 *   `{error, system_limit}` and the connection closes, with the reason in the server's log;
 * - a reply over `maxFrame` (a compressed term inflates) is sent compressed when its uncompressed size is
 *   within ETF_MAX_INFLATION times the request's (64 KiB at least), or else, or if still too large,
 *   `{error, system_limit}`.
 */
export function createEtfEchoHandler(maxFrame: number): Handler {
  const reply = (frame: Buffer, context: SessionContext): Buffer | undefined => {
    const budget = etfFrameBudget(frame.length, maxFrame);
    let term: Term;
    try {
      term = decodeTerm(frame, budget);
    } catch (error) {
      if (!(error instanceof EtfError)) throw error;
      if (error.code !== 'ERR_ETF_LIMIT') return ERROR_BADARG;
      if (error.limit !== undefined && WORK_LIMITS.has(error.limit)) {
        context.send(ERROR_SYSTEM_LIMIT);
        context.fail(
          new EtfError(
            `${error.message} (etf-echo's budget for a ${frame.length}-byte frame: ` +
              `${budget.maxDecompressed} bytes decompressed, ${budget.maxElements} terms)`,
            error.code,
            error.offset,
            { limit: error.limit, cause: error },
          ),
        );
        return undefined;
      }
      return ERROR_SYSTEM_LIMIT;
    }
    const answer = tuple(atom('ok'), term);
    const plain = encodeTerm(answer);
    if (plain.length <= maxFrame) return plain;
    // Compressing costs far more per byte than copying, and re-encoding may grow a term (a Latin-1 atom
    // doubles in UTF-8): compress at most as many bytes as the request may inflate to.
    if (plain.length > inflationBound(frame.length)) return ERROR_SYSTEM_LIMIT;
    const compressed = encodeTerm(answer, { compressed: true });
    return compressed.length <= maxFrame ? compressed : ERROR_SYSTEM_LIMIT;
  };
  return {
    name: 'etf-echo',
    open: (context) => ({ message: (frame) => reply(frame, context) }) satisfies HandlerSession,
  };
}
