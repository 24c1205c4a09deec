import { ExitCode } from './exit-codes.js';

export interface TlsechoErrorOptions {
  /** One line telling the user what to do next; printed as `hint: …`. */
  hint?: string;
  cause?: unknown;
}

/**
 * Every failure a user can cause or meet. `main` prints `tlsecho: <message>` and exits with `exitCode`;
 * anything that is not a TlsechoError is treated as a bug.
 */
export class TlsechoError extends Error {
  readonly hint: string | undefined;

  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: ExitCode,
    options: TlsechoErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** A bad flag, a bad value, or flags that cannot go together. */
export class UsageError extends TlsechoError {
  constructor(message: string, options?: TlsechoErrorOptions) {
    super(message, 'ERR_USAGE', ExitCode.USAGE, options);
  }
}

/**
 * A value that does not parse (`invalid duration '-5': …`), raised by a parser that does not know which flag
 * the value came from. The command line re-raises it naming the flag (`invalid --idle-timeout '-5': …`).
 */
export class InvalidValueError extends UsageError {
  constructor(
    readonly value: string,
    readonly reason: string,
    what: string,
  ) {
    super(`invalid ${what} '${value}': ${reason}`);
  }

  /** The same error, naming the flag instead of the kind of value. */
  forFlag(flag: string): UsageError {
    return new UsageError(`invalid ${flag} '${this.value}': ${this.reason}`, { cause: this });
  }
}

/** A file that cannot be read, written, or would be overwritten. */
export class FileError extends TlsechoError {
  constructor(message: string, options?: TlsechoErrorOptions & { code?: string }) {
    super(message, options?.code ?? 'ERR_FILE', ExitCode.IO, options);
  }
}

/** Refused, unreachable, DNS failure, address in use. */
export class ConnectionError extends TlsechoError {
  constructor(message: string, options?: TlsechoErrorOptions & { code?: string }) {
    super(message, options?.code ?? 'ERR_CONNECTION', ExitCode.CONNECT, options);
  }
}

/** A failed handshake or a peer certificate we refuse to trust. */
export class TlsFailureError extends TlsechoError {
  constructor(message: string, options?: TlsechoErrorOptions & { code?: string }) {
    super(message, options?.code ?? 'ERR_TLS', ExitCode.TLS, options);
  }
}

export class TimeoutError extends TlsechoError {
  constructor(message: string, options?: TlsechoErrorOptions) {
    super(message, 'ERR_TIMEOUT', ExitCode.TIMEOUT, options);
  }
}

/** The bytes on the wire do not follow the framing. */
export class ProtocolError extends TlsechoError {
  constructor(message: string, code = 'ERR_PROTOCOL', options?: TlsechoErrorOptions) {
    super(message, code, ExitCode.PROTOCOL, options);
  }
}

/**
 * How a frame came to be too large: a length header declaring it (`received`), a line with no newline
 * within the limit (`line`, line mode, where nothing is declared), or a message we were asked to send.
 */
export type FrameTooLargeKind = 'received' | 'line' | 'send';

/** A frame (declared or to be sent) is larger than the limit. Raised before any allocation or write. */
export class FrameTooLargeError extends ProtocolError {
  constructor(
    /** The declared length; for a line, the bytes seen without a newline. */
    readonly length: number,
    readonly maxFrame: number,
    readonly direction: FrameTooLargeKind = 'received',
    /** The size of the header that declared `length`, when received: to recognise text sent unframed. */
    headerSize?: number,
  ) {
    const text = direction === 'received' && headerSize !== undefined ? headerAsText(length, headerSize) : '';
    super(
      direction === 'send'
        ? `cannot send a ${length}-byte message: the maximum frame is ${maxFrame} bytes`
        : direction === 'line'
          ? `peer sent a line longer than the ${maxFrame}-byte maximum (${length} bytes without a newline)`
          : `peer declared a ${length}-byte frame, above the ${maxFrame}-byte maximum` +
            (text
              ? `; its ${headerSize} header bytes read ${JSON.stringify(text)}, which looks like unframed text (--packet line is for newline-delimited text)`
              : ''),
      'ERR_FRAME_TOO_LARGE',
      direction === 'send'
        ? undefined
        : {
            hint: text
              ? 'the peer seems to send lines of text: use --packet line on both sides, or frame the messages'
              : 'raise --max-frame if the peer is honest',
          },
    );
  }
}

// The most common framing mistake is text sent to a {packet, N} peer: its first N characters are read as a
// length ("hell" is 1,751,477,356). When every header byte is printable, say so.
function headerAsText(length: number, headerSize: number): string {
  const bytes = Buffer.alloc(headerSize);
  bytes.writeUIntBE(length, 0, headerSize);
  return bytes.every(
    (byte) => (byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d,
  )
    ? bytes.toString('latin1')
    : '';
}

/** The stream ended inside a frame. */
export class TruncatedFrameError extends ProtocolError {
  constructor(
    readonly missing: number,
    readonly expected: number,
  ) {
    super(`stream ended inside a frame: ${missing} of ${expected} bytes missing`, 'ERR_FRAME_TRUNCATED');
  }
}

/** A reply differed from what `--expect` asked for. */
export class MismatchError extends TlsechoError {
  constructor(message: string, options?: TlsechoErrorOptions) {
    super(message, 'ERR_MISMATCH', ExitCode.MISMATCH, options);
  }
}

export class InterruptedError extends TlsechoError {
  constructor(message = 'interrupted') {
    super(message, 'ERR_INTERRUPTED', ExitCode.INTERRUPTED);
  }
}

export function isTlsechoError(error: unknown): error is TlsechoError {
  return error instanceof TlsechoError;
}

/** A short reason for a failed file or stream operation, in words, without Node's errno prefix. */
export function systemReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a parent in the path is not a directory';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EFBIG':
      return 'file too large for the file size limit (ulimit -f)';
    case 'EROFS':
      return 'read-only file system';
    case 'EIO':
      return 'input/output error';
    default:
      return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
  }
}
