// The process entry point: builds the real Io, runs main, and sets the exit code (never process.exit while
// stdout may still hold data: on pipes that drops output).
import { writeSync } from 'node:fs';
import nodeModule from 'node:module';
import { systemReason } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { processIo } from '../io.js';
import { isBareVersionRequest, VERSION } from './version.js';

const STDERR_FD = 2;
let outputFailed = false;

// Once stdout or stderr fails, nothing more the command says can be delivered, so it stops here.
function onOutputError(stream: 'stdout' | 'stderr') {
  return (error: NodeJS.ErrnoException) => {
    // `tlsecho … | head -1`: the reader went away, so nothing more can be delivered; leave quietly, as cat does.
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    if (outputFailed) return;
    outputFailed = true;
    // A full disk (ENOSPC), a quota, an I/O error: one line on the file descriptor itself (the stream object
    // may be the broken one), then the file/IO exit code. If stderr is what failed, the line is lost too.
    try {
      writeSync(STDERR_FD, `tlsecho: cannot write to ${stream}: ${systemReason(error)}\n`);
    } catch {
      // Nowhere left to say it; the exit code still does.
    }
    // The output is broken, so no data can be lost by leaving now.
    process.exit(ExitCode.IO);
  };
}

process.stdout.on('error', onOutputError('stdout'));
process.stderr.on('error', onOutputError('stderr'));

// V8's compile cache (Node 22.1 and later) keeps compiled code across runs for the packages some runs load from
// node_modules (ora, the X.509 builder); the bundle itself has its own code cache (bin/run-bundle.js).
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const argv = process.argv.slice(2);
if (isBareVersionRequest(argv)) {
  process.stdout.write(`${VERSION}\n`);
} else {
  // A promise chain, not a top-level await: the bundle is CommonJS (see scripts/bundle-cli.ts), which has none.
  // main() settles with an exit code for every failure; a rejection is a bug, reported as Node reports one.
  void import('./main.js').then(async ({ main }) => {
    process.exitCode = await main(argv, processIo());
  });
}
