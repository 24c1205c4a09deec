import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FileError, systemReason } from '../errors.js';

/** Private keys: owner read/write only (the CA key too; mkcert makes that one 0400). */
export const KEY_FILE_MODE = 0o600;
/** Certificates are public. */
export const CERT_FILE_MODE = 0o644;

/** One file of a certificate set. */
export interface OutputFile {
  path: string;
  contents: string | Uint8Array;
  mode: number;
  /** How error messages name the file, e.g. `certs/server.key`; default `path`. */
  label?: string;
}

/** The calls that put files in place; tests replace them to simulate a failure late in a write. */
interface PlacementOps {
  link(existing: string, created: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

export interface WriteSetOptions {
  /** Replace existing files. Without it, an existing target fails the whole set before anything is written. */
  force?: boolean;
  ops?: Partial<PlacementOps>;
}

interface Placed {
  path: string;
  /** Where the replaced file waits until the whole set is in place (with force). */
  backup?: string;
}

/**
 * Writes all files or none. Every target is checked first (an existing one fails the set unless `force`);
 * each file goes to a temporary sibling (created with its final mode, fsynced) and is then moved into place.
 * If anything fails, files placed by this call are removed, replaced files are restored, temporary files and
 * folders this call created are deleted, and a FileError names the file.
 */
export async function writeCertificateSet(files: readonly OutputFile[], options: WriteSetOptions = {}): Promise<void> {
  const ops: PlacementOps = { link: fs.link, rename: fs.rename, ...options.ops };
  const targets = files.map((file) => ({ ...file, path: resolve(file.path), label: file.label ?? file.path }));
  const existing = await checkTargets(targets, options);

  const createdDirs: string[] = [];
  const temps = new Map<string, string>();
  const placed: Placed[] = [];
  let current = targets[0];
  try {
    for (const target of targets) {
      current = target;
      const created = await makeDirectories(dirname(target.path));
      if (created !== undefined) createdDirs.push(created);
      temps.set(target.path, await writeTempFile(target.path, target.contents, target.mode));
    }
    for (const target of targets) {
      current = target;
      const temp = temps.get(target.path) as string;
      if (existing.has(target.path)) {
        const backup = siblingName(target.path, 'old');
        await ops.rename(target.path, backup);
        placed.push({ path: target.path, backup });
        await ops.rename(temp, target.path);
      } else {
        // link() refuses to replace a file that appeared since the check; rename() would silently clobber it.
        await ops.link(temp, target.path);
        placed.push({ path: target.path });
        await fs.unlink(temp);
      }
      temps.delete(target.path);
    }
  } catch (error) {
    await rollBack(temps, placed, createdDirs);
    const label = current?.label ?? 'certificate files';
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new FileError(`${label} already exists (pass --force to replace it)`, { cause: error });
    }
    throw new FileError(`cannot write ${label}: ${systemReason(error)}`, { cause: error });
  }
  await Promise.all(placed.flatMap((entry) => (entry.backup ? [fs.rm(entry.backup, { force: true })] : [])));
  await syncDirectories(new Set(targets.map((target) => dirname(target.path))));
}

/** Writes one file atomically (temporary sibling, fsync, rename), replacing any existing file. */
export async function writeFileAtomic(path: string, contents: string | Uint8Array, mode: number): Promise<void> {
  const temp = await writeTempFile(resolve(path), contents, mode);
  try {
    await fs.rename(temp, path);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await syncDirectories(new Set([dirname(resolve(path))]));
}

/**
 * Fails with a FileError naming the first target that exists (unless `force`) or is a directory, so a
 * command can refuse before doing slow work. Returns the targets that exist and will be replaced.
 */
export async function checkTargets(
  files: ReadonlyArray<Pick<OutputFile, 'path' | 'label'>>,
  options: Pick<WriteSetOptions, 'force'> = {},
): Promise<Set<string>> {
  const existing = new Set<string>();
  for (const file of files) {
    const path = resolve(file.path);
    if (await checkTarget(path, file.label ?? file.path, options.force ?? false)) existing.add(path);
  }
  return existing;
}

// Returns true when the target exists and may be replaced.
async function checkTarget(path: string, label: string, force: boolean): Promise<boolean> {
  let stats;
  try {
    stats = await fs.lstat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    // ENOTDIR: a parent is a file; the write would fail the same way, so say it now.
    throw new FileError(`cannot write ${label}: ${systemReason(error)}`, { cause: error });
  }
  if (stats.isDirectory()) throw new FileError(`cannot write ${label}: it is a directory`);
  if (!force) {
    throw new FileError(`${label} already exists (pass --force to replace it)`, { code: 'ERR_FILE_EXISTS' });
  }
  return true;
}

async function writeTempFile(path: string, contents: string | Uint8Array, mode: number): Promise<string> {
  const temp = siblingName(path, 'tmp');
  // 'wx' so a leftover or planted file is never reused; the mode is set at creation, so a key is never
  // readable by others, not even for a moment.
  const handle = await fs.open(temp, 'wx', mode);
  try {
    await handle.writeFile(contents);
    // The umask may have narrowed the mode at creation; certificates should still be world-readable.
    await handle.chmod(mode);
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    throw error;
  }
  return temp;
}

// mkdir -p, returning the top folder it created. Node's recursive mkdir reports ENOENT when a folder cannot be
// made on a read-only file system (it meets EROFS, then looks for the folder it could not make), and the user
// would read "no such file". Making the top missing folder alone gets the real reason.
async function makeDirectories(dir: string): Promise<string | undefined> {
  try {
    return await fs.mkdir(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    let top = dir;
    while (dirname(top) !== top && !(await isPresent(dirname(top)))) top = dirname(top);
    await fs.mkdir(top); // throws the real error: EROFS, EACCES, ENOTDIR…
    await fs.mkdir(dir, { recursive: true });
    return top;
  }
}

async function isPresent(path: string): Promise<boolean> {
  return fs.lstat(path).then(
    () => true,
    () => false,
  );
}

// `.server.key.<pid>-<random>.tmp`: the process id tells a later run whether the writer is still alive.
function siblingName(path: string, kind: 'tmp' | 'old'): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.${kind}`);
}

/**
 * Deletes the temporary files that a writer of `paths` killed mid-write (SIGKILL, power loss) left next to
 * them, and returns their paths. Files of a writer that still runs are kept; so are `.old` backups, which
 * hold what a `--force` run was replacing.
 */
export async function removeStaleTempFiles(paths: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const path of paths.map((each) => resolve(each))) {
    const dir = dirname(path);
    const entries = await fs.readdir(dir).catch(() => [] as string[]);
    for (const entry of entries) {
      const match = tempFileOf(basename(path), entry);
      if (!match || isRunning(match.pid)) continue;
      await fs.rm(join(dir, entry), { force: true });
      removed.push(join(dir, entry));
    }
  }
  return removed;
}

// Names writeTempFile makes for `name`; ones without a process id come from versions that did not add it.
function tempFileOf(name: string, entry: string): { pid: number | undefined } | undefined {
  const prefix = `.${name}.`;
  if (!entry.startsWith(prefix)) return undefined;
  const match = /^(?:(\d+)-)?[0-9a-f]{8}\.tmp$/.exec(entry.slice(prefix.length));
  if (!match) return undefined;
  return { pid: match[1] === undefined ? undefined : Number(match[1]) };
}

function isRunning(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function rollBack(temps: Map<string, string>, placed: Placed[], createdDirs: string[]): Promise<void> {
  const quietly = (work: Promise<unknown>) => work.catch(() => undefined);
  for (const temp of temps.values()) await quietly(fs.rm(temp, { force: true }));
  for (const entry of placed.reverse()) {
    await quietly(fs.rm(entry.path, { force: true }));
    if (entry.backup) await quietly(fs.rename(entry.backup, entry.path));
  }
  // mkdir -p reports the top folder it created; remove the tree only if this call left nothing in it.
  for (const dir of createdDirs.reverse()) await quietly(removeEmptyTree(dir));
}

async function removeEmptyTree(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) return;
    await removeEmptyTree(join(dir, entry.name));
  }
  await fs.rmdir(dir);
}

// A rename is durable only once its directory entry is on disk (fsync(2), "Notes").
async function syncDirectories(dirs: Set<string>): Promise<void> {
  for (const dir of dirs) {
    const handle = await fs.open(dir, 'r').catch(() => undefined);
    if (!handle) continue;
    await handle.sync().catch(() => undefined);
    await handle.close();
  }
}
