import type { CommandModule } from 'yargs';
import type { Io } from '../../io.js';
import { benchCommand } from './bench.js';
import { connectCommand } from './connect.js';
import { gencertCommand } from './gencert.js';
import { proxyCommand } from './proxy.js';
import { replayCommand } from './replay.js';
import { sendCommand } from './send.js';
import { serveCommand } from './serve.js';

/**
 * Every subcommand, in the order `--help` lists them. A command module holds only its flags; its handler
 * imports the code that does the work, so a run loads one command's code (start-up time, and a smaller
 * heap for the server: less for the garbage collector to walk at high message rates).
 */
export function allCommands(io: Io): CommandModule<object, never>[] {
  return [
    gencertCommand(io),
    serveCommand(io),
    connectCommand(io),
    sendCommand(io),
    benchCommand(io),
    proxyCommand(io),
    replayCommand(io),
  ] as CommandModule<object, never>[];
}
