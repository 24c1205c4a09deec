import { appendFile, chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/** Lines kept, in the session and in the file (psql and bash keep 500; readline's default is 30). */
export const HISTORY_ENTRIES = 1000;
/**
 * A longer line is recalled within its session but not saved: a pasted blob is rarely worth recalling, and
 * this bounds the file at about 4 MiB whatever is typed.
 */
export const MAX_SAVED_LINE_BYTES = 4096;
// The file may hold lines typed over many sessions (and by several at once): it is compacted to
// HISTORY_ENTRIES when a session starts, and during a session once appends double it.
const COMPACT_AT = 2 * HISTORY_ENTRIES;
// What was typed may include secrets: the file is the user's alone, as psql's and bash's are.
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * Where the interactive session keeps its history: `$XDG_STATE_HOME/tlsecho/history`, by default
 * `~/.local/state/tlsecho/history`. The XDG Base Directory spec says a relative `XDG_STATE_HOME` is invalid
 * and must be ignored.
 */
export function historyPath(env: Record<string, string | undefined>): string {
  const state = env.XDG_STATE_HOME;
  const base =
    state !== undefined && isAbsolute(state)
      ? state
      : join(env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir(), '.local', 'state');
  return join(base, 'tlsecho', 'history');
}

/**
 * The lines entered in earlier sessions, and the file new ones are appended to, one per line, oldest
 * first (as bash and psql write theirs). A file that cannot be read or written costs a warning, never the
 * session.
 */
export class HistoryFile {
  /** Newest first, as readline's `history` option takes it; readline adds to this array. */
  readonly entries: string[];
  #linesInFile: number;
  #writes: Promise<void> = Promise.resolve();
  #failed = false;
  #folderMade = false;

  private constructor(
    readonly path: string,
    entries: string[],
    linesInFile: number,
    readonly warn: (message: string) => void,
  ) {
    this.entries = entries;
    this.#linesInFile = linesInFile;
  }

  /** Reads the file (a missing one is an empty history) and compacts it when it has grown past the cap. */
  static async open(path: string, warn: (message: string) => void): Promise<HistoryFile> {
    let text = '';
    let unusable = false;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        // Writing would fail the same way, or overwrite a history we could not read: leave it alone.
        warn(
          `cannot read the history file ${path}: ${describe(error)}; this session's lines will not be saved`,
        );
        unusable = true;
      }
    }
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    const entries = newestFirst(lines);
    const history = new HistoryFile(path, entries, lines.length, warn);
    if (unusable) {
      history.#failed = true;
      return history;
    }
    if (lines.length > entries.length) history.#queue(() => history.#rewrite());
    else if (lines.length > 0) history.#queue(() => chmod(path, FILE_MODE));
    return history;
  }

  /** Saves one entered line (in the background; `settled` waits for it). */
  record(line: string): void {
    if (this.#failed || Buffer.byteLength(line) > MAX_SAVED_LINE_BYTES) return;
    this.#linesInFile += 1;
    if (this.#linesInFile > COMPACT_AT) this.#queue(() => this.#rewrite());
    else this.#queue(() => this.#append(line));
  }

  /** Resolves once every line recorded so far is written (or has failed to be). Never rejects. */
  settled(): Promise<void> {
    return this.#writes;
  }

  #queue(write: () => Promise<unknown>): void {
    this.#writes = this.#writes.then(write).then(
      () => undefined,
      (error: unknown) => {
        // Once is enough: a read-only home would otherwise warn at every line.
        if (this.#failed) return;
        this.#failed = true;
        this.warn(`cannot save the history to ${this.path}: ${describe(error)}`);
      },
    );
  }

  async #append(line: string): Promise<void> {
    await this.#makeFolder();
    await appendFile(this.path, `${line}\n`, { mode: FILE_MODE });
  }

  async #makeFolder(): Promise<void> {
    if (this.#folderMade) return;
    await mkdir(dirname(this.path), { recursive: true, mode: DIR_MODE });
    this.#folderMade = true;
  }

  // Written aside and renamed over the old file, so that a crash never leaves half a history.
  async #rewrite(): Promise<void> {
    const kept = this.entries
      .filter((line) => Buffer.byteLength(line) <= MAX_SAVED_LINE_BYTES)
      .slice(0, HISTORY_ENTRIES)
      .reverse();
    await this.#makeFolder();
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, kept.map((line) => `${line}\n`).join(''), { mode: FILE_MODE });
    await chmod(temporary, FILE_MODE);
    await rename(temporary, this.path);
    this.#linesInFile = kept.length;
  }
}

// The file is oldest first and may repeat a line; readline wants newest first, each line once (as
// removeHistoryDuplicates keeps it), at most HISTORY_ENTRIES.
function newestFirst(lines: string[]): string[] {
  const seen = new Set<string>();
  const entries: string[] = [];
  for (let i = lines.length - 1; i >= 0 && entries.length < HISTORY_ENTRIES; i -= 1) {
    const line = lines[i]!;
    if (line.trim() === '' || seen.has(line)) continue;
    seen.add(line);
    entries.push(line);
  }
  return entries;
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  // mkdir -p says EEXIST when a part of the path is a file.
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'a part of the path is not a directory';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EROFS') return 'read-only file system';
  return (error as Error).message;
}
