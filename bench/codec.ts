// Codec micro-benchmark: decode throughput of FrameDecoder against a naive decoder that concatenates on
// every chunk, for {packet, 4} frames of 64 B, 1 KiB and 64 KiB, arriving in large chunks (64 KiB, as a
// TLS socket hands them over) and in small ones. The two decoders alternate within each round so that the
// machine's noise hits both; min/median/max over the rounds are reported with the ratio of medians.
//
//   npm run bench:codec [-- --rounds 5 --time 250 --json]
import { parseArgs } from 'node:util';
import { FrameDecoder } from '../src/codec/decoder.js';
import { formatTable, summarise, type Summary } from './stats.js';

const HEADER_SIZE = 4;
const LARGE_CHUNK = 64 * 1024;
// An odd size, so that headers and payloads straddle chunk boundaries at every possible offset.
const SMALL_CHUNK = 1021;
// Bytes of frames generated per case: enough to leave the caches and make one pass last milliseconds.
const STREAM_BYTES = 16 * 1024 * 1024;

// Targets from the issue: large chunks, frames that arrived whole.
const TARGET_64K_MBPS = 2000;
const TARGET_64B_FPS = 5_000_000;

interface Case {
  name: string;
  frameSize: number;
  chunkSize: number;
  chunks: Buffer[];
  bytes: number;
  frames: number;
}

/** Decodes every chunk; returns [frames, payload bytes] so the work cannot be optimised away and is checked. */
type Decode = (chunks: Buffer[]) => [number, number];

/** The decoder under test: one instance per pass, as one per connection. */
function decodeWithFrameDecoder(chunks: Buffer[]): [number, number] {
  const decoder = new FrameDecoder(HEADER_SIZE, 1 << 30);
  let frames = 0;
  let checksum = 0;
  const onFrame = (frame: Buffer) => {
    frames += 1;
    checksum += frame.length;
  };
  for (const chunk of chunks) decoder.push(chunk, onFrame);
  decoder.end();
  return [frames, checksum];
}

/** What people write first: append every chunk to one buffer, then cut frames from its front. */
function decodeNaively(chunks: Buffer[]): [number, number] {
  let buffered = Buffer.alloc(0);
  let frames = 0;
  let checksum = 0;
  for (const chunk of chunks) {
    buffered = Buffer.concat([buffered, chunk]);
    let offset = 0;
    for (;;) {
      if (buffered.length - offset < HEADER_SIZE) break;
      const length = buffered.readUInt32BE(offset);
      if (buffered.length - offset - HEADER_SIZE < length) break;
      const frame = buffered.subarray(offset + HEADER_SIZE, offset + HEADER_SIZE + length);
      frames += 1;
      checksum += frame.length;
      offset += HEADER_SIZE + length;
    }
    buffered = buffered.subarray(offset);
  }
  if (buffered.length > 0) throw new Error('naive decoder left bytes over');
  return [frames, checksum];
}

function makeCase(frameSize: number, chunkSize: number, chunkName: string): Case {
  const frameBytes = HEADER_SIZE + frameSize;
  const frames = Math.max(1, Math.floor(STREAM_BYTES / frameBytes));
  const stream = Buffer.allocUnsafe(frames * frameBytes);
  for (let i = 0; i < frames; i++) {
    const at = i * frameBytes;
    stream.writeUInt32BE(frameSize, at);
    stream.fill(i & 0xff, at + HEADER_SIZE, at + frameBytes);
  }
  // Each chunk is its own allocation, as socket reads are, so no view shares a parent with the next.
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += chunkSize) {
    chunks.push(Buffer.from(stream.subarray(at, Math.min(at + chunkSize, stream.length))));
  }
  return {
    name: `${formatBytes(frameSize)} frames, ${chunkName} chunks`,
    frameSize,
    chunkSize,
    chunks,
    bytes: stream.length,
    frames,
  };
}

function formatBytes(n: number): string {
  return n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
}

interface Sample {
  mbps: number;
  fps: number;
}

/** Repeats whole passes over the case for at least `minMs`; returns throughput over that time. */
function measure(decode: Decode, testCase: Case, minMs: number): Sample {
  let passes = 0;
  const start = process.hrtime.bigint();
  let elapsedNs = 0;
  do {
    const [frames, payloadBytes] = decode(testCase.chunks);
    if (frames !== testCase.frames || payloadBytes !== testCase.frames * testCase.frameSize) {
      throw new Error(`${testCase.name}: decoded ${frames} frames, expected ${testCase.frames}`);
    }
    passes += 1;
    elapsedNs = Number(process.hrtime.bigint() - start);
  } while (elapsedNs < minMs * 1e6);
  const seconds = elapsedNs / 1e9;
  return {
    mbps: (testCase.bytes * passes) / seconds / 1e6,
    fps: (testCase.frames * passes) / seconds,
  };
}

interface CaseResult {
  name: string;
  frameSize: number;
  chunkSize: number;
  decoder: { mbps: Summary; fps: Summary };
  naive: { mbps: Summary; fps: Summary };
  ratio: number;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      time: { type: 'string', default: '250' }, // ms per measurement
      json: { type: 'boolean', default: false },
    },
  });
  const rounds = Number(values.rounds);
  const minMs = Number(values.time);
  const cases = [64, 1024, 64 * 1024].flatMap((size) => [
    makeCase(size, LARGE_CHUNK, `${LARGE_CHUNK / 1024} KiB`),
    makeCase(size, SMALL_CHUNK, `${SMALL_CHUNK} B`),
  ]);

  const results: CaseResult[] = [];
  for (const testCase of cases) {
    // Warm both up so the JIT has settled before the first measured round.
    measure(decodeWithFrameDecoder, testCase, 100);
    measure(decodeNaively, testCase, 100);
    const ours: Sample[] = [];
    const naive: Sample[] = [];
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first, so neither always runs on the warmer (or noisier) half of a round.
      if (round % 2 === 0) {
        ours.push(measure(decodeWithFrameDecoder, testCase, minMs));
        naive.push(measure(decodeNaively, testCase, minMs));
      } else {
        naive.push(measure(decodeNaively, testCase, minMs));
        ours.push(measure(decodeWithFrameDecoder, testCase, minMs));
      }
    }
    const result: CaseResult = {
      name: testCase.name,
      frameSize: testCase.frameSize,
      chunkSize: testCase.chunkSize,
      decoder: { mbps: summarise(ours.map((s) => s.mbps)), fps: summarise(ours.map((s) => s.fps)) },
      naive: { mbps: summarise(naive.map((s) => s.mbps)), fps: summarise(naive.map((s) => s.fps)) },
      ratio: 0,
    };
    result.ratio = result.decoder.mbps.median / result.naive.mbps.median;
    results.push(result);
    if (!values.json) process.stderr.write(`  done: ${testCase.name}\n`);
  }

  const large64k = results.find((r) => r.frameSize === 64 * 1024 && r.chunkSize === LARGE_CHUNK)!;
  const large64 = results.find((r) => r.frameSize === 64 && r.chunkSize === LARGE_CHUNK)!;
  const targets = [
    {
      target: `64 KiB frames, large chunks: >= ${TARGET_64K_MBPS} MB/s`,
      median: large64k.decoder.mbps.median,
      met: large64k.decoder.mbps.median >= TARGET_64K_MBPS,
    },
    {
      target: `64 B frames, large chunks: >= ${TARGET_64B_FPS / 1e6} M frames/s`,
      median: large64.decoder.fps.median,
      met: large64.decoder.fps.median >= TARGET_64B_FPS,
    },
  ];

  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ node: process.version, rounds, msPerMeasurement: minMs, results, targets }, null, 2)}\n`,
    );
    return;
  }
  const fmt = (s: Summary, scale: number, digits: number) =>
    `${(s.min / scale).toFixed(digits)} / ${(s.median / scale).toFixed(digits)} / ${(s.max / scale).toFixed(digits)}`;
  process.stdout.write(
    `\nCodec decode throughput, {packet, 4}; ${rounds} rounds of ${minMs} ms each; min / median / max\n\n`,
  );
  process.stdout.write(
    formatTable(
      ['case', 'FrameDecoder MB/s', 'FrameDecoder M frames/s', 'naive MB/s', 'naive M frames/s', 'ratio'],
      results.map((r) => [
        r.name,
        fmt(r.decoder.mbps, 1, 0),
        fmt(r.decoder.fps, 1e6, 2),
        fmt(r.naive.mbps, 1, 0),
        fmt(r.naive.fps, 1e6, 2),
        `${r.ratio.toFixed(2)}x`,
      ]),
    ),
  );
  process.stdout.write('\nTargets (median):\n');
  for (const t of targets) {
    process.stdout.write(`  ${t.met ? 'met   ' : 'MISSED'} ${t.target}\n`);
  }
}

main();
