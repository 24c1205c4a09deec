export { decodeTerm } from './decode.js';
export { encodeTerm, type EncodeOptions } from './encode.js';
export { parseTerm, type ParseOptions } from './parse.js';
export { formatTerm } from './format.js';
export { termToJson, type JsonValue } from './json.js';
export { compareTerms, termsEqual } from './compare.js';
export { EtfError, type EtfErrorCode } from './errors.js';
export { DEFAULT_ETF_LIMITS, resolveLimits, type EtfLimits } from './limits.js';
export {
  NIL,
  TRUE,
  FALSE,
  atom,
  binary,
  charlist,
  float,
  integer,
  list,
  map,
  tuple,
  type AtomTerm,
  type BinaryTerm,
  type BitstringTerm,
  type ExportTerm,
  type FloatTerm,
  type FunTerm,
  type IntegerTerm,
  type ListTerm,
  type MapTerm,
  type PidTerm,
  type PortTerm,
  type ReferenceTerm,
  type Term,
  type TupleTerm,
} from './term.js';
