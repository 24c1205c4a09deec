import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { SYSTEM_TOOLS, findTool, missingToolsNote } from './system-tools.js';
import { makeTempDir } from './tmpdir.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const CONFIG = 'test/helpers/fixtures/vitest.fixture.config.ts';
const SKIP_LINE =
  'test/helpers/fixtures/needs-tool.fixture.ts: skipped: nginx not found on the PATH ' +
  '(apt-get install nginx-light libnginx-mod-stream, or npm run test:deps)';

/** vitest on the fixture, as on a machine with Node and nothing else: PATH holds only a link to node. */
async function runFixture(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const bin = await makeTempDir('tlsecho-node-only-');
  await symlink(process.execPath, join(bin, 'node'));
  const child = spawn(process.execPath, [VITEST, 'run', '--config', CONFIG], {
    cwd: ROOT,
    env: { PATH: bin, HOME: bin, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

describe('a missing system program', () => {
  test('off CI: the test that needs it is skipped with one line naming it, and the run passes', async () => {
    const { code, output } = await runFixture({});
    expect(output.split('\n')).toContain(SKIP_LINE);
    expect(output).toMatch(/Tests\s+1 passed \| 1 skipped \(2\)/);
    expect(code, output).toBe(0);
  }, 90_000);

  test('under CI=true: the run fails, saying which program is missing and how to install it', async () => {
    const { code, output } = await runFixture({ CI: 'true' });
    expect(output).toContain(
      'FAIL  test/helpers/fixtures/needs-tool.fixture.ts > nginx installed (CI runs every test)',
    );
    expect(output).toContain(
      'nginx not found on the PATH (apt-get install nginx-light libnginx-mod-stream, or npm run test:deps)',
    );
    expect(output).not.toContain(SKIP_LINE);
    expect(code).toBe(1);
  }, 90_000);
});

test('findTool looks on the PATH only, as a shell would', async () => {
  const dir = await makeTempDir();
  await symlink(process.execPath, join(dir, 'node'));
  expect(findTool('node', dir)).toBe(join(dir, 'node'));
  expect(findTool('node', `/nonexistent:${dir}`)).toBe(join(dir, 'node'));
  expect(findTool('nginx', dir)).toBeUndefined();
  expect(findTool('node', '')).toBeUndefined();
});

test('the note names every missing program once and its packages', () => {
  expect(missingToolsNote(['escript', 'elixir'])).toBe(
    'escript and elixir not found on the PATH (apt-get install erlang-nox elixir, or npm run test:deps)',
  );
});

test('npm run test:deps (and so CI) installs every package the skip notes name', async () => {
  const script = await readFile(join(ROOT, 'scripts/test-deps.sh'), 'utf8');
  const list = /^TEST_PACKAGES=\(([^)]*)\)$/m.exec(script)?.[1]?.split(/\s+/) ?? [];
  for (const packages of Object.values(SYSTEM_TOOLS))
    for (const name of packages) expect(list).toContain(name);
  const ci = await readFile(join(ROOT, '.ci/run'), 'utf8');
  expect(ci).toMatch(/^bash scripts\/test-deps\.sh$/m);
  const packageJson = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  expect(packageJson.scripts['test:deps']).toBe('bash scripts/test-deps.sh');
});
