import type { CommandModule } from 'yargs';
import type { Io } from '../io.js';
import { notImplemented } from './not-implemented.js';

export const serveCommand = (_io: Io): CommandModule => ({
  command: 'serve',
  describe: 'run a TLS server that handles framed messages (echo by default)',
  handler: () => notImplemented('serve'),
});
