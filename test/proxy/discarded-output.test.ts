import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { expect, onTestFinished, test } from 'vitest';
import { writesToDevNull } from '../../src/proxy/discarded-output.js';
import { makeTempDir } from '../helpers/tmpdir.js';

async function openStream(path: string): Promise<WriteStream> {
  const stream = createWriteStream(path);
  onTestFinished(() => {
    stream.destroy();
  });
  await once(stream, 'open');
  return stream;
}

// The proxy skips formatting frames only when its stdout is /dev/null; anywhere else they must be shown.
test('a stream writing to /dev/null is recognised', async () => {
  expect(writesToDevNull(await openStream('/dev/null'))).toBe(true);
});

test('a stream writing to a file or a pipe-like stream is not taken for /dev/null', async () => {
  const dir = await makeTempDir();
  expect(writesToDevNull(await openStream(join(dir, 'frames.txt')))).toBe(false);
  expect(writesToDevNull(new PassThrough())).toBe(false);
});
