import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import vm from 'node:vm';
import { expect, onTestFinished, test } from 'vitest';
import { createServer } from '../../src/index.js';
import { cliEnv } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';

// The command line runs from one bundle with V8's code cache for it (bin/run-bundle.js). A cache that V8
// rejects costs the start-up time it was meant to save; one made for another build must never be used.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUNDLE = join(ROOT, 'dist/bin/tlsecho.cjs');
const run = promisify(execFile);
// The launcher's own module wrapper: a cache is only valid for the exact text V8 compiled.
const { wrap } = createRequire(import.meta.url)('../../bin/run-bundle.js') as {
  wrap: (source: string) => string;
};

const firstLine = (text: string) => text.slice(0, text.indexOf('\n'));

function splitCache(data: Buffer): { stamp: string; code: Buffer } {
  const end = data.indexOf(0x0a);
  return { stamp: data.toString('latin1', 0, end), code: data.subarray(end + 1) };
}

test('the build writes a code cache for this very bundle, and this Node accepts it', async () => {
  const { stamp, code } = splitCache(await readFile(`${BUNDLE}.cache`));
  expect(stamp).toBe(firstLine(await readFile(BUNDLE, 'utf8')));
  expect(stamp).toMatch(/^\/\/ tlsecho build [0-9a-f-]{36}$/);
  const script = new vm.Script(wrap(await readFile(BUNDLE, 'utf8')), {
    filename: BUNDLE,
    cachedData: code,
  });
  expect(script.cachedDataRejected).toBe(false);
});

/** A copy of the installed layout (bin/, dist/bin/, package.json) whose cache a test may spoil. */
async function copyOfCli(): Promise<{ bin: string; cache: string }> {
  const dir = await makeTempDir();
  await mkdir(join(dir, 'bin'));
  await mkdir(join(dir, 'dist/bin'), { recursive: true });
  for (const file of ['bin/tlsecho', 'bin/run-bundle.js', 'bin/package.json', 'package.json'])
    await copyFile(join(ROOT, file), join(dir, file));
  await copyFile(BUNDLE, join(dir, 'dist/bin/tlsecho.cjs'));
  return { bin: join(dir, 'bin/tlsecho'), cache: join(dir, 'dist/bin/tlsecho.cjs.cache') };
}

async function sendPing(bin: string): Promise<string> {
  const server = createServer({ host: '127.0.0.1', port: 0 });
  const { port } = await server.listen();
  onTestFinished(() => server.close(0));
  const pin = server.certificate!.fingerprint;
  const { stdout } = await run(process.execPath, [bin, 'send', '--pin', pin, `127.0.0.1:${port}`, 'ping'], {
    env: cliEnv(),
  });
  return stdout;
}

/**
 * Code for a script of the bundle's length that only prints "stale". V8 checks a cache against the source's
 * length, not its text, so it would run this in place of the bundle: only the stamp keeps it out.
 */
async function staleCode(): Promise<Buffer> {
  const { length } = await readFile(BUNDLE, 'utf8');
  const statement = 'process.stdout.write("stale\\n");';
  const source = `${statement}//${'x'.repeat(length - statement.length - 2)}`;
  return new vm.Script(wrap(source), { filename: BUNDLE }).createCachedData();
}

test.each([
  [
    'a cache made for another build of the bundle',
    async () => ({ stamp: '// tlsecho build another', code: await staleCode() }),
  ],
  ['a damaged cache for this bundle', async (stamp: string) => ({ stamp, code: Buffer.alloc(4096, 7) })],
])(
  '%s is not used: the command runs as without one, and leaves one this Node accepts',
  async (_name, spoil) => {
    const copy = await copyOfCli();
    const source = await readFile(BUNDLE, 'utf8');
    const spoiled = await spoil(firstLine(source));
    await writeFile(copy.cache, Buffer.concat([Buffer.from(`${spoiled.stamp}\n`), spoiled.code]));
    expect(await sendPing(copy.bin)).toBe('ping\n');
    // Replaced as the run exited (as after a Node upgrade): the next run starts from a cache again.
    const { stamp, code } = splitCache(await readFile(copy.cache));
    expect(stamp).toBe(firstLine(source));
    const script = new vm.Script(wrap(source), { filename: BUNDLE, cachedData: code });
    expect(script.cachedDataRejected).toBe(false);
    expect(await sendPing(copy.bin)).toBe('ping\n');
  },
);

test('a cache this Node accepts is left as it is', async () => {
  const copy = await copyOfCli();
  const built = await readFile(`${BUNDLE}.cache`);
  await writeFile(copy.cache, built);
  expect(await sendPing(copy.bin)).toBe('ping\n');
  expect((await readFile(copy.cache)).equals(built)).toBe(true);
});

test('without a cache file the command runs as usual, and makes none (the build writes it)', async () => {
  const copy = await copyOfCli();
  expect(await sendPing(copy.bin)).toBe('ping\n');
  await expect(readFile(copy.cache)).rejects.toThrow(/ENOENT/);
});
