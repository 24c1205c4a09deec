import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BIN } from '../helpers/run-cli.js';
import { needs } from '../helpers/system-tools.js';
import { readReadme } from './helpers/documented.js';

// The README's shell-scripting examples, run as a reader would run them: in order, in one folder, with
// `tlsecho` on the PATH (this checkout) and real servers. A block is tested when `<!-- tested -->` comes
// right before it; a `text` block right after it is what it must print on stdout.
//
// The examples name ports 7000 and 7001; each run gets free ports in their place, so that it neither needs
// nor disturbs whatever else is listening.

interface TestedBlock {
  line: number;
  code: string;
  output?: string;
}

function testedBlocks(markdown: string): TestedBlock[] {
  const blocks: TestedBlock[] = [];
  const pattern = /<!-- tested -->\s*\n```(?:sh|bash)\n([\s\S]*?)^```\n(?:\s*\n```text\n([\s\S]*?)^```\n)?/gm;
  for (const match of markdown.matchAll(pattern)) {
    const line = markdown.slice(0, match.index).split('\n').length;
    blocks.push({ line, code: match[1]!, ...(match[2] === undefined ? {} : { output: match[2] }) });
  }
  return blocks;
}

const blocks = testedBlocks(readReadme());

// The JSON example pipes into jq; without it that block is skipped and the others still run, in order.
const withJq = needs('jq');
const usesJq = (block: TestedBlock) => /(^|[|;&]\s*)jq\s/m.test(block.code);

test('the README has tested examples for each scripting task the issue asks for', () => {
  const code = blocks.map((block) => block.code);
  const has = (pattern: RegExp) => code.some((text) => pattern.test(text));
  expect(blocks.length).toBeGreaterThanOrEqual(5);
  expect(has(/tlsecho send .*--expect-echo/)).toBe(true); // a health check
  expect(has(/tlsecho connect .*< \S+/)).toBe(true); // a file of lines through connect
  expect(has(/--output json[\s\S]*\| *\n? *jq /)).toBe(true); // JSON with jq
  expect(has(/gencert --ca/) && has(/--client-ca/) && has(/gencert .*--client/)).toBe(true); // mutual TLS
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('README shell examples, run in order against real servers', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const ports = new Map<string, string>();
  const groups: number[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlsecho-readme-'));
    await mkdir(join(dir, '.bin'));
    await symlink(BIN, join(dir, '.bin', 'tlsecho'));
    env = {
      PATH: [join(dir, '.bin'), dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
      HOME: dir,
      LANG: 'C.UTF-8',
    };
    ports.set('7000', String(await freePort()));
    ports.set('7001', String(await freePort()));
  });

  afterAll(async () => {
    // Each block ran as the leader of its own process group; servers it left in the background are in it.
    for (const group of groups) {
      try {
        process.kill(-group, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  async function runBlock(block: TestedBlock) {
    const code = block.code.replace(/\b700[01]\b/g, (port) => ports.get(port)!);
    const out = join(dir, `.block-${block.line}.out`);
    const err = join(dir, `.block-${block.line}.err`);
    const [outFile, errFile] = await Promise.all([open(out, 'w'), open(err, 'w')]);
    // Output goes to files: a server the block leaves running keeps its stdout open, so a pipe would
    // never see the end.
    const child = spawn('bash', ['--norc', '--noprofile', '-c', `set -eo pipefail\n${code}`], {
      cwd: dir,
      env,
      detached: true,
      stdio: ['ignore', outFile.fd, errFile.fd],
    });
    groups.push(child.pid!);
    const status = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 30_000);
      child.on('error', reject);
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    await Promise.all([outFile.close(), errFile.close()]);
    return { status, stdout: await readFile(out, 'utf8'), stderr: await readFile(err, 'utf8') };
  }

  test.for(
    blocks.map((block) => [`README line ${block.line}: ${block.code.split('\n')[0]}`, block] as const),
  )('%s', { timeout: 40_000 }, async ([, block], context) => {
    if (usesJq(block) && !withJq.available) context.skip(withJq.note);
    const result = await runBlock(block);
    expect(result.status, `the block failed; stderr:\n${result.stderr}`).toBe(0);
    if (block.output !== undefined) expect(result.stdout).toBe(block.output);
  });
});
