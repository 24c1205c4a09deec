import type { Writable } from 'node:stream';
import { LineCoalescer } from './line-coalescer.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'verbose' | 'debug';
const LEVEL_RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, verbose: 3, debug: 4 };

export type LogFields = Record<string, unknown>;

/** One logger for diagnostics on stderr: plain lines for people, JSON lines with `--json`. */
export interface Logger {
  readonly json: boolean;
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  verbose(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
  /**
   * The same logger for chatter (a line per connection): with `coalesceMs`, its info and lower lines may
   * wait to be written together with the next ones. Lines of the logger itself never wait, and write out
   * whatever waits before them, so order holds. Without `coalesceMs`, the logger itself.
   */
  readonly batched: Logger;
  /** Writes out lines that wait; call before the process ends. */
  flush(): void;
}

export interface LoggerOptions {
  json?: boolean;
  /** The most detailed level printed; `quiet` maps to error, `verbose` to verbose. Default info. */
  level?: LogLevel;
  color?: boolean;
  /** Added to every JSON line, e.g. a worker id. */
  base?: LogFields;
  /**
   * Lines of `batched` at level info and below that come within this many milliseconds of the last write
   * are gathered and written together (see LineCoalescer). For a busy server.
   */
  coalesceMs?: number;
}

const COLOURS: Partial<Record<LogLevel, string>> = { error: '\x1b[31m', warn: '\x1b[33m', debug: '\x1b[2m' };
const RESET = '\x1b[0m';

export function createLogger(stream: Writable, options: LoggerOptions = {}): Logger {
  const json = options.json ?? false;
  const threshold = LEVEL_RANK[options.level ?? 'info'];
  const enabled = (level: LogLevel) => LEVEL_RANK[level] <= threshold;
  const format = (level: LogLevel, message: string, fields?: LogFields): string => {
    if (json) {
      const line = { time: new Date().toISOString(), level, msg: message, ...options.base, ...fields };
      return `${toJson(line)}\n`;
    }
    const prefix = level === 'error' ? 'tlsecho: ' : level === 'warn' ? 'tlsecho: warning: ' : '';
    const text = `${prefix}${message}`;
    const colour = options.color ? COLOURS[level] : undefined;
    return colour ? `${colour}${text}${RESET}\n` : `${text}\n`;
  };
  const coalescer =
    options.coalesceMs === undefined ? undefined : new LineCoalescer(stream, options.coalesceMs);
  const flush = () => coalescer?.flush();
  const logger: Logger = {
    json,
    enabled,
    flush,
    ...levelMethods(enabled, (level, message, fields) => {
      const line = format(level, message, fields);
      if (coalescer === undefined) stream.write(line);
      else coalescer.writeNow(line);
    }),
    get batched() {
      return batched;
    },
  };
  const batched: Logger =
    coalescer === undefined
      ? logger
      : {
          json,
          enabled,
          flush,
          ...levelMethods(enabled, (level, message, fields) => {
            const line = format(level, message, fields);
            if (LEVEL_RANK[level] <= LEVEL_RANK.warn) coalescer.writeNow(line);
            else coalescer.write(line);
          }),
          get batched() {
            return batched;
          },
        };
  return logger;
}

function levelMethods(
  enabled: (level: LogLevel) => boolean,
  write: (level: LogLevel, message: string, fields?: LogFields) => void,
): Pick<Logger, LogLevel> {
  const at = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (enabled(level)) write(level, message, fields);
  };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    verbose: at('verbose'),
    debug: at('debug'),
  };
}

// JSON has no bigint; logs must never throw on one. A replacer makes V8 leave its fast serializer, which
// tripled the cost of the two lines a busy server logs per connection, so it is only the fallback.
function toJson(line: LogFields): string {
  try {
    return JSON.stringify(line);
  } catch {
    return JSON.stringify(line, jsonReplacer);
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Level from the common `--quiet`/`--verbose`/`--debug` flags. */
export function logLevelFrom(flags: { quiet?: boolean; verbose?: boolean; debug?: boolean }): LogLevel {
  if (flags.debug) return 'debug';
  if (flags.quiet) return 'error';
  if (flags.verbose) return 'verbose';
  return 'info';
}
