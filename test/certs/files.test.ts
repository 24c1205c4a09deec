import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import {
  CERT_FILE_MODE,
  KEY_FILE_MODE,
  removeStaleTempFiles,
  writeCertificateSet,
  writeFileAtomic,
  type OutputFile,
} from '../../src/certs/files.js';
import { FileError } from '../../src/errors.js';
import { makeTempDir } from '../helpers/tmpdir.js';

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

function certificateSet(dir: string, text = 'new'): OutputFile[] {
  return [
    { path: join(dir, 'server.crt'), contents: `${text} cert\n`, mode: CERT_FILE_MODE, label: 'certs/server.crt' },
    { path: join(dir, 'server.key'), contents: `${text} key\n`, mode: KEY_FILE_MODE, label: 'certs/server.key' },
    { path: join(dir, 'server.chain.pem'), contents: `${text} chain\n`, mode: CERT_FILE_MODE, label: 'certs/server.chain.pem' },
  ];
}

async function caught(work: Promise<unknown>): Promise<FileError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FileError);
  return error as FileError;
}

test('writes keys 0600 and certificates 0644, creating the missing folders, leaving no temporary file', async () => {
  const dir = join(await makeTempDir(), 'a', 'certs');
  await writeCertificateSet(certificateSet(dir));
  expect(await modeOf(join(dir, 'server.key'))).toBe(0o600);
  expect(await modeOf(join(dir, 'server.crt'))).toBe(0o644);
  expect(await modeOf(join(dir, 'server.chain.pem'))).toBe(0o644);
  expect(await readFile(join(dir, 'server.key'), 'utf8')).toBe('new key\n');
  expect((await readdir(dir)).sort()).toEqual(['server.chain.pem', 'server.crt', 'server.key']);
});

test('keeps the exact modes under a strict umask', async () => {
  const dir = await makeTempDir();
  const previous = process.umask(0o077);
  try {
    await writeCertificateSet(certificateSet(dir));
  } finally {
    process.umask(previous);
  }
  expect(await modeOf(join(dir, 'server.crt'))).toBe(0o644);
  expect(await modeOf(join(dir, 'server.key'))).toBe(0o600);
});

test('refuses to overwrite, naming the file, and writes none of the set', async () => {
  const dir = await makeTempDir();
  await writeFile(join(dir, 'server.key'), 'old key\n');
  const error = await caught(writeCertificateSet(certificateSet(dir)));
  expect(error.message).toBe('certs/server.key already exists (pass --force to replace it)');
  expect(error.exitCode).toBe(3);
  expect(await readdir(dir)).toEqual(['server.key']);
  expect(await readFile(join(dir, 'server.key'), 'utf8')).toBe('old key\n');
});

test('force replaces existing files and gives the key its private mode back', async () => {
  const dir = await makeTempDir();
  await writeFile(join(dir, 'server.key'), 'old key\n', { mode: 0o644 });
  await writeCertificateSet(certificateSet(dir), { force: true });
  expect(await readFile(join(dir, 'server.key'), 'utf8')).toBe('new key\n');
  expect(await modeOf(join(dir, 'server.key'))).toBe(0o600);
  expect((await readdir(dir)).sort()).toEqual(['server.chain.pem', 'server.crt', 'server.key']);
});

test('refuses a target that is a directory, even with force', async () => {
  const dir = await makeTempDir();
  await mkdir(join(dir, 'server.chain.pem'));
  const error = await caught(writeCertificateSet(certificateSet(dir), { force: true }));
  expect(error.message).toBe('cannot write certs/server.chain.pem: it is a directory');
  expect(await readdir(dir)).toEqual(['server.chain.pem']);
});

test('a failure while writing a later file leaves no file and no folder behind', async () => {
  const root = await makeTempDir();
  const dir = join(root, 'new-folder');
  // A name the file system accepts, but whose temporary sibling is too long: fails after the first file.
  const longName = `${'k'.repeat(240)}.key`;
  const files: OutputFile[] = [
    { path: join(dir, 'server.crt'), contents: 'cert', mode: CERT_FILE_MODE },
    { path: join(dir, longName), contents: 'key', mode: KEY_FILE_MODE, label: 'the long key' },
  ];
  const error = await caught(writeCertificateSet(files));
  expect(error.message).toMatch(/^cannot write the long key: /);
  expect(await readdir(root)).toEqual([]);
});

test('a failure while moving the last file into place removes the files already placed', async () => {
  const dir = await makeTempDir();
  let links = 0;
  const failThirdLink = async (from: string, to: string) => {
    if (++links === 3) throw Object.assign(new Error('simulated'), { code: 'EIO' });
    const { link } = await import('node:fs/promises');
    await link(from, to);
  };
  const error = await caught(writeCertificateSet(certificateSet(dir), { ops: { link: failThirdLink } }));
  expect(error.message).toMatch(/^cannot write certs\/server\.chain\.pem: /);
  expect(links).toBe(3);
  expect(await readdir(dir)).toEqual([]);
});

test('with force, a late failure puts the replaced files back as they were', async () => {
  const dir = await makeTempDir();
  await writeCertificateSet(certificateSet(dir, 'old'));
  let renames = 0;
  const { rename } = await import('node:fs/promises');
  // Each replaced file takes two renames (aside, then into place); fail placing the last one.
  const failLastPlacement = async (from: string, to: string) => {
    if (++renames === 6) throw Object.assign(new Error('simulated'), { code: 'EIO' });
    await rename(from, to);
  };
  await caught(writeCertificateSet(certificateSet(dir), { force: true, ops: { rename: failLastPlacement } }));
  expect((await readdir(dir)).sort()).toEqual(['server.chain.pem', 'server.crt', 'server.key']);
  for (const [file, text] of [
    ['server.crt', 'old cert\n'],
    ['server.key', 'old key\n'],
    ['server.chain.pem', 'old chain\n'],
  ]) {
    expect(await readFile(join(dir, file as string), 'utf8')).toBe(text);
  }
});

test('writeFileAtomic replaces a file in one step with the requested mode', async () => {
  const dir = await makeTempDir();
  const path = join(dir, 'pin.txt');
  await writeFile(path, 'old');
  await writeFileAtomic(path, 'new', 0o600);
  expect(await readFile(path, 'utf8')).toBe('new');
  expect(await modeOf(path)).toBe(0o600);
  expect(await readdir(dir)).toEqual(['pin.txt']);
});

test('removeStaleTempFiles deletes what dead writers left and keeps the files of one that runs', async () => {
  const dir = await makeTempDir();
  // Above any Linux pid_max (2^22), so no process has it.
  const deadPid = 99_999_999;
  const names = {
    dead: `.server.key.${deadPid}-0badf00d.tmp`,
    older: '.server.crt.c35bd13d.tmp', // the form before the process id was part of the name
    running: `.server.key.${process.pid}-12345678.tmp`,
    backup: `.server.key.${deadPid}-0badf00d.old`,
    other: `.other.key.${deadPid}-0badf00d.tmp`,
  };
  for (const name of Object.values(names)) await writeFile(join(dir, name), 'x');
  const removed = await removeStaleTempFiles([join(dir, 'server.crt'), join(dir, 'server.key')]);
  expect(removed.sort()).toEqual([join(dir, names.older), join(dir, names.dead)].sort());
  expect((await readdir(dir)).sort()).toEqual([names.backup, names.other, names.running].sort());
});
