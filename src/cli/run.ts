// The process entry point: builds the real Io, runs main, and sets the exit code (never process.exit while
// stdout may still hold data: on pipes that drops output).
import { processIo } from '../io.js';
import { isBareVersionRequest, VERSION } from './version.js';

// `tlsecho … | head -1`: the reader went away, so nothing more can be delivered; leave quietly, as cat does.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const argv = process.argv.slice(2);
if (isBareVersionRequest(argv)) {
  process.stdout.write(`${VERSION}\n`);
} else {
  const { main } = await import('./main.js');
  process.exitCode = await main(argv, processIo());
}
