import type { CommandModule } from 'yargs';
import type { Io } from '../io.js';
import { notImplemented } from './not-implemented.js';

export const gencertCommand = (_io: Io): CommandModule => ({
  command: 'gencert',
  describe: 'make a self-signed certificate, a local CA, or certificates issued by it',
  handler: () => notImplemented('gencert'),
});
