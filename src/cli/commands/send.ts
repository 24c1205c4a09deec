import type { CommandModule } from 'yargs';
import type { Io } from '../io.js';
import { notImplemented } from './not-implemented.js';

export const sendCommand = (_io: Io): CommandModule => ({
  command: 'send',
  describe: 'send messages, print the replies, exit (for scripts and health checks)',
  handler: () => notImplemented('send'),
});
