import { fstatSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';

/**
 * True when `stream` writes to /dev/null (`tlsecho proxy … > /dev/null`), so that showing a frame there
 * costs its formatting and a write system call and shows nothing. Formatting a 64 KiB frame as text and
 * writing it took over 90% of the proxy's CPU per frame, so the proxy skips it when nobody can read it.
 * A stream without a file descriptor (or one that cannot be checked) is taken as read by someone.
 */
export function writesToDevNull(stream: Writable): boolean {
  const fd = (stream as Writable & { fd?: unknown }).fd;
  if (typeof fd !== 'number') return false;
  try {
    const out = fstatSync(fd);
    const devNull = statSync('/dev/null');
    return out.isCharacterDevice() && out.rdev === devNull.rdev;
  } catch {
    return false;
  }
}
