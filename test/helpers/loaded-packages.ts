import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeTempDir } from './tmpdir.js';

// A module resolve hook (node:module register) that appends every URL Node resolves to a file. The hooks run
// on their own thread, so a synchronous append is the simplest way to hand the list back. The command line is
// a CommonJS bundle whose packages load with require(), which the hook does not see: the register script also
// records every file CommonJS resolves.
const RESOLVE_HOOK = `
import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(log, result.url + '\\n');
  return result;
}`;

export interface LoadTrace {
  /** npm packages loaded, by name (`yargs`, `@peculiar/x509`), sorted. */
  packages: string[];
  code: number | null;
  stderr: string;
}

/** Runs `node [args]` and lists the npm packages the process loaded, by import or by require. */
export async function tracePackages(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadTrace> {
  const dir = await makeTempDir();
  const hooks = join(dir, 'hooks.mjs');
  const register = join(dir, 'register.mjs');
  const log = join(dir, 'resolved.txt');
  await writeFile(hooks, RESOLVE_HOOK);
  await writeFile(log, '');
  await writeFile(
    register,
    `import Module, { register } from 'node:module';\n` +
      `import { appendFileSync } from 'node:fs';\n` +
      `register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { log: ${JSON.stringify(log)} } });\n` +
      `const resolveFilename = Module._resolveFilename;\n` +
      `Module._resolveFilename = function (...args) {\n` +
      `  const file = resolveFilename.apply(this, args);\n` +
      `  appendFileSync(${JSON.stringify(log)}, file + '\\n');\n` +
      `  return file;\n` +
      `};\n`,
  );
  const child = spawn(process.execPath, ['--import', pathToFileURL(register).href, ...args], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const packages = new Set<string>();
  for (const url of (await readFile(log, 'utf8')).split('\n')) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match) packages.add(match[1]!);
  }
  return { packages: [...packages].sort(), code, stderr };
}
