import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { FileError, UsageError, systemReason } from '../errors.js';
import type { PacketMode } from '../codec/limits.js';

/** Which way a frame went: client to server, or server to client. */
export type Direction = 'c2s' | 's2c';

/** The first line of a recording: what was recorded, so that `replay` can speak to the server the same way. */
export interface RecordingHeader {
  recording: typeof RECORDING_KIND;
  version: typeof RECORDING_VERSION;
  /** The server the frames went to, as `host:port`. */
  target: string;
  /** The server's framing (`proxy --upstream-packet`, else `--packet`). */
  packet: PacketMode;
}

/** One frame as it passed: connection number, direction, milliseconds since the recording started, payload. */
export interface RecordedFrame {
  conn: number;
  dir: Direction;
  t: number;
  data: Buffer;
}

export const RECORDING_KIND = 'tlsecho-proxy';
export const RECORDING_VERSION = 1;

// Written by `tlsecho proxy --record` and `tlsecho connect --record`, read by `tlsecho replay`: one format,
// named for the proxy that introduced it, so that files recorded either way replay the same.

/**
 * Writes a recording as JSON lines: a header line, then one line per frame,
 * `{"conn":1,"dir":"c2s","t":12.345,"data":"<base64>"}`. Each line is written with a synchronous write
 * system call as the frame passes (before the proxy relays it on, as `connect` sends or receives it), so a
 * process that crashes or is killed loses no frame it passed on (the kernel holds what was written; nothing
 * waits in our buffers).
 */
export class Recorder {
  readonly #fd: number;
  readonly #path: string;
  #closed = false;

  private constructor(fd: number, path: string) {
    this.#fd = fd;
    this.#path = path;
  }

  /** Creates (or truncates) `path` and writes the header; a FileError names the file when it cannot. */
  static open(path: string, header: Omit<RecordingHeader, 'recording' | 'version'>): Recorder {
    let fd: number;
    try {
      fd = openSync(path, 'w', 0o600);
    } catch (error) {
      throw new FileError(`cannot write the recording ${path}: ${systemReason(error)}`, { cause: error });
    }
    const recorder = new Recorder(fd, path);
    const line: RecordingHeader = { recording: RECORDING_KIND, version: RECORDING_VERSION, ...header };
    recorder.#write(`${JSON.stringify(line)}\n`);
    return recorder;
  }

  record(conn: number, dir: Direction, t: number, data: Uint8Array): void {
    if (this.#closed) return;
    const base64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    this.#write(`{"conn":${conn},"dir":"${dir}","t":${Math.round(t * 1000) / 1000},"data":"${base64}"}\n`);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }

  #write(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(this.#fd, bytes, written);
    } catch (error) {
      throw new FileError(`cannot write the recording ${this.#path}: ${systemReason(error)}`, {
        cause: error,
      });
    }
  }
}

/** A recording read back: its header and its frames grouped by connection, each in the order it passed. */
export interface Recording {
  header: RecordingHeader;
  connections: Array<{ conn: number; frames: RecordedFrame[] }>;
  /** The line number of a last line cut short and skipped (the recorder was stopped while writing it). */
  cutShortLine?: number;
}

/**
 * Reads a recording written by `Recorder`. A line that is not a frame is a UsageError naming the file and
 * the line, so a wrong file fails before anything is sent. A last line cut short (the recorder was killed while
 * writing it) is skipped, and its number returned as `cutShortLine` for the caller to say so: every whole line
 * before it is a frame that was relayed.
 */
export function readRecording(path: string, text?: string): Recording {
  let content: string;
  try {
    content = text ?? readFileSync(path, 'utf8');
  } catch (error) {
    throw new FileError(`cannot read the recording ${path}: ${systemReason(error)}`, { cause: error });
  }
  const lines = content.split('\n');
  const complete = content.endsWith('\n') ? lines.slice(0, -1) : lines;
  const unfinished = content.endsWith('\n') ? undefined : complete.length - 1;
  const header = parseHeader(path, complete[0]);
  const byConn = new Map<number, RecordedFrame[]>();
  let cutShortLine: number | undefined;
  for (let index = 1; index < complete.length; index++) {
    const line = complete[index]!;
    if (line.trim() === '') continue;
    const frame = parseFrame(line);
    if (frame === undefined) {
      if (index === unfinished) {
        cutShortLine = index + 1;
        break;
      }
      throw new UsageError(`${path} line ${index + 1} is not a recorded frame: ${line.slice(0, 60)}`);
    }
    let frames = byConn.get(frame.conn);
    if (frames === undefined) byConn.set(frame.conn, (frames = []));
    frames.push(frame);
  }
  const connections = [...byConn].map(([conn, frames]) => ({ conn, frames }));
  return cutShortLine === undefined ? { header, connections } : { header, connections, cutShortLine };
}

function parseHeader(path: string, line: string | undefined): RecordingHeader {
  let value: unknown;
  try {
    value = JSON.parse(line ?? '');
  } catch {
    value = undefined;
  }
  const header = value as Partial<RecordingHeader> | undefined;
  if (header?.recording !== RECORDING_KIND) {
    throw new UsageError(
      `${path} is not a tlsecho recording (made with tlsecho proxy --record or tlsecho connect --record)`,
    );
  }
  if (header.version !== RECORDING_VERSION) {
    throw new UsageError(
      `${path} is a version ${String(header.version)} recording; this tlsecho reads version ${RECORDING_VERSION}`,
    );
  }
  return header as RecordingHeader;
}

// Standard base64 with its padding, as Recorder writes it.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function parseFrame(line: string): RecordedFrame | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const { conn, dir, t, data } = (value ?? {}) as Record<string, unknown>;
  if (!Number.isSafeInteger(conn) || (dir !== 'c2s' && dir !== 's2c') || typeof data !== 'string') {
    return undefined;
  }
  // Buffer.from skips what is not base64 and would replay other bytes than were recorded.
  if (!BASE64.test(data)) return undefined;
  return { conn: conn as number, dir, t: typeof t === 'number' ? t : 0, data: Buffer.from(data, 'base64') };
}
