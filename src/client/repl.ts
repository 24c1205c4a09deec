import { clearLine, createInterface, cursorTo } from 'node:readline';
import type { Io } from '../io.js';
import type { Logger } from '../log/logger.js';
import { InterruptedError, TlsechoError } from '../errors.js';
import type { FramedClient } from './connect.js';
import type { OutputMode } from './output.js';
import { createReplyFormatter, encodeTermMessage, type MessageFormat } from './term-messages.js';

const PROMPT = '> ';
const HISTORY_SIZE = 1000;

export interface ReplOptions {
  output: OutputMode;
  /** `etf`: each line is Erlang term text, sent as ETF; replies are shown as terms. Default `text`. */
  format?: MessageFormat;
}

/**
 * The interactive session on a terminal: each entered line is sent as one frame, and replies are printed
 * as they arrive, above the prompt, without disturbing what is being typed. Line editing and history come
 * from readline. Ctrl-D on an empty line closes the connection; a close by the server ends the session
 * the same way; Ctrl-C clears the line, or on an empty line interrupts.
 *
 * A line too long for the framing (or with `etf`, not a valid term) is refused with a message and the
 * session goes on.
 */
export function replSession(client: FramedClient, io: Io, options: ReplOptions, log: Logger): Promise<void> {
  // Replies are written synchronously, so that the prompt is redrawn after them and not before.
  const etf = options.format === 'etf';
  const format = createReplyFormatter(
    options.format ?? 'text',
    options.output,
    client.framing.mode,
    (warning) => log.warn(warning),
  );
  const rl = createInterface({
    input: io.stdin,
    output: io.stderr,
    terminal: true,
    prompt: PROMPT,
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
  });

  const clearPromptLine = () => {
    clearLine(io.stderr, 0);
    cursorTo(io.stderr, 0);
  };
  // Anything printed while the prompt is up goes above it: wipe the prompt line, print, redraw the prompt
  // with the half-typed line and the cursor where they were.
  const above = (print: () => void) => {
    clearPromptLine();
    print();
    rl.prompt(true);
  };

  return new Promise<void>((resolve, reject) => {
    let ended = false;
    const end = (error?: unknown, report?: string) => {
      if (ended) return;
      ended = true;
      clearPromptLine();
      if (report) log.info(report);
      rl.close();
      if (error === undefined) resolve();
      else reject(error);
    };

    rl.on('line', (line) => {
      try {
        client.write(etf ? encodeTermMessage(line, 'that line') : Buffer.from(line, 'utf8'));
      } catch (error) {
        // Too long for the framing, or not a term: say so and carry on, as Erlang's ssl:send refuses
        // packet_to_large.
        if (error instanceof TlsechoError && client.writable) {
          above(() => log.error(error.message));
          return;
        }
        end(error);
        return;
      }
      rl.prompt();
    });

    // Ctrl-D on an empty line (or the terminal going away).
    rl.on('close', () => {
      if (ended) return;
      ended = true;
      clearPromptLine();
      client.end().then(() => {
        log.info(`connection to ${client.target} closed`);
        resolve();
      }, reject);
    });

    rl.on('SIGINT', () => {
      if (rl.line.length > 0) {
        // As in a shell: Ctrl-C abandons the line being typed.
        rl.write(null, { ctrl: true, name: 'u' });
        return;
      }
      client.destroy();
      end(new InterruptedError());
    });

    void (async () => {
      try {
        for await (const frame of client) {
          above(() => io.stdout.write(format(frame)));
        }
        end(undefined, `connection to ${client.target} closed by the server`);
      } catch (error) {
        end(error);
      }
    })();

    rl.prompt();
  });
}
