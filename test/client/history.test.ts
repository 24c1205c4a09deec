import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { HISTORY_ENTRIES, HistoryFile, MAX_SAVED_LINE_BYTES, historyPath } from '../../src/client/history.js';
import { makeTempDir } from '../helpers/tmpdir.js';

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('historyPath', () => {
  test.each<[Record<string, string>, string]>([
    [{ XDG_STATE_HOME: '/state', HOME: '/home/ann' }, '/state/tlsecho/history'],
    [{ HOME: '/home/ann' }, '/home/ann/.local/state/tlsecho/history'],
    // The XDG spec: a relative path in XDG_STATE_HOME is invalid and ignored.
    [{ XDG_STATE_HOME: 'state', HOME: '/home/ann' }, '/home/ann/.local/state/tlsecho/history'],
    [{ XDG_STATE_HOME: '', HOME: '/home/ann' }, '/home/ann/.local/state/tlsecho/history'],
  ])('%o → %s', (env, path) => {
    expect(historyPath(env)).toBe(path);
  });
});

describe('HistoryFile', () => {
  async function historyIn(dir: string) {
    const warnings: string[] = [];
    const history = await HistoryFile.open(join(dir, 'tlsecho', 'history'), (message) =>
      warnings.push(message),
    );
    return { history, warnings, path: join(dir, 'tlsecho', 'history') };
  }

  test('a missing file is an empty history; recorded lines are appended, oldest first, mode 0600', async () => {
    const dir = await makeTempDir();
    const { history, warnings, path } = await historyIn(dir);
    expect(history.entries).toEqual([]);
    history.record('one');
    history.record('two');
    await history.settled();
    expect(await readFile(path, 'utf8')).toBe('one\ntwo\n');
    expect(await modeOf(path)).toBe(0o600);
    expect(await modeOf(join(dir, 'tlsecho'))).toBe(0o700);
    expect(warnings).toEqual([]);
  });

  test(`keeps the newest ${HISTORY_ENTRIES} lines, each once, and compacts the file to them`, async () => {
    const dir = await makeTempDir();
    const path = join(dir, 'tlsecho', 'history');
    await mkdir(join(dir, 'tlsecho'));
    const old = Array.from({ length: 1500 }, (_, i) => `line ${i + 1}`);
    await writeFile(path, [...old, 'line 1499', '', 'line 1500'].map((line) => `${line}\n`).join(''));
    await chmod(path, 0o644);

    const { history } = await historyIn(dir);
    expect(history.entries).toHaveLength(HISTORY_ENTRIES);
    expect(history.entries.slice(0, 3)).toEqual(['line 1500', 'line 1499', 'line 1498']);
    expect(history.entries.at(-1)).toBe('line 501');
    await history.settled();
    const saved = (await readFile(path, 'utf8')).split('\n');
    expect(saved).toHaveLength(HISTORY_ENTRIES + 1);
    expect(saved.slice(0, 2)).toEqual(['line 501', 'line 502']);
    expect(saved.slice(-3)).toEqual(['line 1499', 'line 1500', '']);
    // A file left readable by others is made private again.
    expect(await modeOf(path)).toBe(0o600);
  });

  test('a session that appends past twice the cap rewrites the file down to the cap', async () => {
    const dir = await makeTempDir();
    const { history, path } = await historyIn(dir);
    // readline adds each line to `entries` before the session records it.
    for (let i = 1; i <= 2 * HISTORY_ENTRIES + 1; i += 1) {
      history.entries.unshift(`typed ${i}`);
      if (history.entries.length > HISTORY_ENTRIES) history.entries.pop();
      history.record(`typed ${i}`);
    }
    await history.settled();
    const saved = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(saved).toHaveLength(HISTORY_ENTRIES);
    expect(saved.at(-1)).toBe(`typed ${2 * HISTORY_ENTRIES + 1}`);
  });

  test(`a line over ${MAX_SAVED_LINE_BYTES} bytes is not saved`, async () => {
    const dir = await makeTempDir();
    const { history, path } = await historyIn(dir);
    history.record('x'.repeat(MAX_SAVED_LINE_BYTES + 1));
    history.record('short');
    await history.settled();
    expect(await readFile(path, 'utf8')).toBe('short\n');
  });

  test('a history file that cannot be read costs one warning and is left alone, not the session', async () => {
    const dir = await makeTempDir();
    // A plain file where the folder should be.
    await writeFile(join(dir, 'tlsecho'), 'not a folder');
    const { history, warnings, path } = await historyIn(dir);
    history.record('one');
    history.record('two');
    await history.settled();
    expect(history.entries).toEqual([]);
    expect(warnings).toEqual([
      `cannot read the history file ${path}: a part of the path is not a directory; this session's lines will not be saved`,
    ]);
    expect(await readFile(join(dir, 'tlsecho'), 'utf8')).toBe('not a folder');
  });

  test('a history file that cannot be written costs one warning', async () => {
    const dir = await makeTempDir();
    const { history, warnings, path } = await historyIn(dir);
    // Made unwritable after it was read: a plain file takes the folder's place.
    await writeFile(join(dir, 'tlsecho'), '');
    history.record('one');
    history.record('two');
    await history.settled();
    expect(warnings).toEqual([`cannot save the history to ${path}: a part of the path is not a directory`]);
  });
});
