import { InvalidValueError } from './errors.js';

// Durations: `500ms`, `10s`, `2m`, `1h`; a bare number means seconds (as in `timeout(1)`).
const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i;

/**
 * The longest duration a timer can wait: Node.js clamps a longer setTimeout to 1 ms (with a
 * TimeoutOverflowWarning), so `--timeout 3000000s` would time out at once. 2^31-1 ms is 596h 31m.
 */
const MAX_DURATION_MS = 2 ** 31 - 1;

/** Parses a duration into milliseconds. Throws UsageError naming the value on anything else. */
export function parseDuration(value: string | number, what = 'duration'): number {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidValueError(String(value), 'expected a duration of zero or more', what);
    }
    ms = Math.round(value * 1000);
  } else {
    const match = DURATION_PATTERN.exec(value.trim());
    if (!match) {
      throw new InvalidValueError(value, 'use a number with ms, s, m or h (e.g. 500ms, 10s, 2m)', what);
    }
    const unit = (match[2] ?? 's').toLowerCase();
    ms = Math.round(Number(match[1]) * DURATION_UNITS_MS[unit]!);
  }
  if (ms > MAX_DURATION_MS) {
    throw new InvalidValueError(
      String(value),
      `the longest is ${formatDuration(MAX_DURATION_MS)} (about 24.8 days)`,
      what,
    );
  }
  return ms;
}

// Sizes: binary units as in `64KiB`, `8MiB`; SI `kB`/`MB` are powers of ten; a bare number is bytes.
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};
const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*([a-z]+)?$/i;

/** Parses a size into bytes. Throws UsageError naming the value on anything else. */
export function parseSize(value: string | number, what = 'size'): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidValueError(String(value), 'expected a whole number of bytes', what);
    }
    return value;
  }
  const match = SIZE_PATTERN.exec(value.trim());
  const multiplier = match ? SIZE_UNITS[(match[2] ?? 'b').toLowerCase()] : undefined;
  if (!match || multiplier === undefined) {
    throw new InvalidValueError(value, 'use a number of bytes or a unit (e.g. 512, 64KiB, 8MiB)', what);
  }
  const bytes = Number(match[1]) * multiplier;
  if (!Number.isInteger(bytes)) throw new InvalidValueError(value, 'not a whole number of bytes', what);
  return bytes;
}

/** `1536` → `1.5 KiB`, for logs. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number(value.toFixed(1))} ${units[unit]}`;
}

/** `1500` → `1.5s`, `119999` → `2m0s`, `3600000` → `1h0m0s`, for logs. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 59_950) return `${Number((ms / 1000).toFixed(1))}s`;
  // Round to whole seconds first, so that 119.999 s is 2m0s and never 1m60s.
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m${seconds % 60}s`;
}
