import type { CommandModule } from 'yargs';
import type { Io } from '../io.js';
import { notImplemented } from './not-implemented.js';

export const connectCommand = (_io: Io): CommandModule => ({
  command: 'connect',
  describe: 'open an interactive session, or pipe stdin through a server',
  handler: () => notImplemented('connect'),
});
