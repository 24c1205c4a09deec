import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import type { MessageHandler, ModuleHandlerContext, Replies } from '../../src/index.js';
import { makeTestPki } from '../client/helpers/pki.js';
import { startServeWithPki } from '../client/helpers/serve-child.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { readManPage, readReadme } from './helpers/documented.js';

// docs/handlers.md's module examples, run as a user would: saved to a file, loaded by a real
// `tlsecho serve --handler`, spoken to by `tlsecho send`.

const DOC = readFileSync(fileURLToPath(new URL('../../docs/handlers.md', import.meta.url)), 'utf8');

function example(name: string): string {
  const match = new RegExp(
    `<!-- handler: ${name.replace('.', '\\.')} -->\\n\\n\`\`\`js\\n([\\s\\S]*?)\`\`\``,
  ).exec(DOC);
  if (!match) throw new Error(`docs/handlers.md has no example ${name}`);
  return match[1]!;
}

async function serveExample(name: string) {
  const dir = await makeTempDir('tlsecho-handler-doc-');
  const file = join(dir, name);
  await writeFile(file, example(name));
  const pki = await makeTestPki();
  const server = await startServeWithPki(pki, ['--handler', file]);
  const send = (...args: string[]) =>
    runCli(['send', `127.0.0.1:${server.port}`, '--ca', pki.caFile, ...args]);
  return { send, server };
}

describe('the module handler examples in docs/handlers.md do what the text says', () => {
  test('upper.mjs: one reply per message', async () => {
    const { send } = await serveExample('upper.mjs');
    expect(await send('hello', 'there')).toMatchObject({ code: 0, stdout: 'HELLO\nTHERE\n' });
  });

  test('lookup.mjs: async, with per-connection state', async () => {
    const { send } = await serveExample('lookup.mjs');
    expect(await send('a', 'b')).toMatchObject({ code: 0, stdout: '1: a\n2: b\n' });
    // A new connection, a new state.
    expect(await send('c')).toMatchObject({ code: 0, stdout: '1: c\n' });
  });

  test('split.mjs: a greeting, several replies to one message, and finish() after bye', async () => {
    const { send, server } = await serveExample('split.mjs');
    const r = await send('--replies', '5', 'a b c', 'quit');
    expect(r).toMatchObject({ code: 0, stdout: 'hello 127.0.0.1\na\nb\nc\nbye\n' });
    await expect
      .poll(() => server.log(), { timeout: 5000 })
      .toMatch(/closed 127\.0\.0\.1:\d+ after .*: handler exited/);
  });
});

test('the handler types are exported from the package, finish and fail included', () => {
  // Compiled by the typecheck: a handler written against the exported types.
  const handler: MessageHandler = (message, context: ModuleHandlerContext): Replies => {
    if (message.toString() === 'quit') context.finish();
    if (message.length === 0) context.fail(new Error('empty'));
    return context.client === undefined ? 'who are you?' : `${context.client.commonName}`;
  };
  expect(typeof handler).toBe('function');
});

test('the README and the man page point to docs/handlers.md', () => {
  expect(readReadme()).toContain('docs/handlers.md');
  expect(readManPage()).toContain('docs/handlers.md');
});
