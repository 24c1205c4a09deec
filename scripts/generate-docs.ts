// npm run man: writes man/tlsecho.1 and the README's reference section from the command definitions.
// With --check, writes nothing and exits 1 if either is out of date (test/docs does the same check).
import { readFile, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { generateDocs, ROOT } from './docs/generate.js';

const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [path, contents] of await generateDocs()) {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === contents) continue;
  stale.push(relative(ROOT, path));
  if (!check) await writeFile(path, contents);
}
if (check && stale.length > 0) {
  process.stderr.write(`out of date: ${stale.join(', ')} (run: npm run man)\n`);
  process.exitCode = 1;
} else if (!check) {
  process.stderr.write(stale.length > 0 ? `wrote ${stale.join(', ')}\n` : 'docs already up to date\n');
}
