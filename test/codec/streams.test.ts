import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expect, test } from 'vitest';
import {
  createEncoder,
  encodeFrameToBuffer,
  FrameDecodeStream,
  FrameDecoder,
  FrameEncodeStream,
  writeFrames,
} from '../../src/codec/index.js';
import { FrameTooLargeError } from '../../src/errors.js';

test('the decode stream pushes every honest frame before emitting the framing error', async () => {
  const wire = Buffer.concat([
    encodeFrameToBuffer(Buffer.from('a'), 1),
    encodeFrameToBuffer(Buffer.from('b'), 1),
    Buffer.from([200]),
  ]);
  const stream = new FrameDecodeStream(new FrameDecoder(1, 100));
  const frames: string[] = [];
  stream.on('data', (frame: Buffer) => frames.push(frame.toString()));
  const failure = new Promise((resolve) => stream.on('error', resolve));
  stream.end(wire);
  await expect(failure).resolves.toBeInstanceOf(FrameTooLargeError);
  expect(frames).toEqual(['a', 'b']);
});

test('a consumer that pulls (for await in a pipeline) also gets every honest frame before the error', async () => {
  const wire = Buffer.concat([
    encodeFrameToBuffer(Buffer.from('a'), 1),
    encodeFrameToBuffer(Buffer.alloc(0), 1),
    Buffer.from([200]),
  ]);
  const frames: string[] = [];
  const consume = async (source: AsyncIterable<Buffer>) => {
    for await (const frame of source) frames.push(frame.toString());
  };
  const run = pipeline(Readable.from([wire]), new FrameDecodeStream(new FrameDecoder(1, 100)), consume);
  await expect(run).rejects.toBeInstanceOf(FrameTooLargeError);
  expect(frames).toEqual(['a', '']);
});

test('encode and decode streams compose into an identity pipeline', async () => {
  const messages = ['one', '', 'three'].map((m) => Buffer.from(m));
  const out: string[] = [];
  const sink = new PassThrough({ objectMode: true });
  sink.on('data', (frame: Buffer) => out.push(frame.toString()));
  await pipeline(
    Readable.from(messages),
    new FrameEncodeStream(createEncoder(2)),
    new FrameDecodeStream(new FrameDecoder(2)),
    sink,
  );
  expect(out).toEqual(['one', '', 'three']);
});

test('writeFrames writes nothing when one payload of the batch is too large', () => {
  const sink = new PassThrough();
  const written: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => written.push(chunk));
  expect(() => writeFrames(sink, createEncoder(1), [Buffer.from('ok'), Buffer.alloc(300)])).toThrow(
    FrameTooLargeError,
  );
  expect(Buffer.concat(written).length).toBe(0);
});

test('writeFrames writes every frame of a batch in order', async () => {
  const sink = new PassThrough();
  writeFrames(sink, createEncoder(4), [Buffer.from('x'), Buffer.from('yz')]);
  sink.end();
  const chunks: Buffer[] = [];
  for await (const chunk of sink) chunks.push(chunk as Buffer);
  expect(Buffer.concat(chunks).toString('hex')).toBe('00000001780000000279' + '7a');
});
