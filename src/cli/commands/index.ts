import type { CommandModule } from 'yargs';
import type { Io } from '../io.js';
import { benchCommand } from './bench.js';
import { connectCommand } from './connect.js';
import { gencertCommand } from './gencert.js';
import { sendCommand } from './send.js';
import { serveCommand } from './serve.js';

/** Every subcommand, in the order `--help` lists them. */
export function allCommands(io: Io): CommandModule<object, never>[] {
  return [
    gencertCommand(io),
    serveCommand(io),
    connectCommand(io),
    sendCommand(io),
    benchCommand(io),
  ] as CommandModule<object, never>[];
}
