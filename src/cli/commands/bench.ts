import type { CommandModule } from 'yargs';
import type { Io } from '../io.js';
import { notImplemented } from './not-implemented.js';

export const benchCommand = (_io: Io): CommandModule => ({
  command: 'bench',
  describe: 'drive a framed echo server and report throughput and latency',
  handler: () => notImplemented('bench'),
});
