import { ProtocolError, type TlsechoErrorOptions } from '../errors.js';
import type { EtfLimits } from './limits.js';

/**
 * What went wrong with an Erlang term:
 * - `ERR_ETF_INVALID`: the bytes are not a valid External Term Format encoding;
 * - `ERR_ETF_LIMIT`: the term is valid so far but exceeds a decoding limit (depth, elements, sizes);
 * - `ERR_ETF_UNSUPPORTED`: a valid tag that only appears inside the distribution protocol;
 * - `ERR_ETF_UNENCODABLE`: a term built in code that Erlang cannot represent (NaN, a 256-character atom).
 */
export type EtfErrorCode =
  'ERR_ETF_INVALID' | 'ERR_ETF_LIMIT' | 'ERR_ETF_UNSUPPORTED' | 'ERR_ETF_UNENCODABLE';

/** A term that cannot be decoded or encoded. A ProtocolError, so a hostile peer maps to exit code 7. */
export class EtfError extends ProtocolError {
  declare readonly code: EtfErrorCode;

  constructor(
    message: string,
    code: EtfErrorCode,
    /** Byte offset in the encoded term where the problem was found, when there is one. */
    readonly offset?: number,
    options?: TlsechoErrorOptions & {
      /** For `ERR_ETF_LIMIT`: which limit the term exceeded. */
      limit?: keyof EtfLimits;
    },
  ) {
    super(message, code, options);
    this.limit = options?.limit;
  }

  /** For `ERR_ETF_LIMIT`: which limit the term exceeded. */
  readonly limit: keyof EtfLimits | undefined;
}
