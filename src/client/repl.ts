import { clearScreenDown, createInterface, cursorTo, moveCursor, type Interface } from 'node:readline';
import type { Io } from '../io.js';
import type { Logger } from '../log/logger.js';
import { ConnectionError, InterruptedError, TlsechoError } from '../errors.js';
import type { FramedClient } from './framed-client.js';
import { HISTORY_ENTRIES, HistoryFile, historyPath } from './history.js';
import type { OutputMode } from './output.js';
import { isRetryable } from './reconnect.js';
import { createReplyFormatter, encodeTermMessage, type MessageFormat } from './term-messages.js';

const PROMPT = '> ';

interface ReplOptions {
  output: OutputMode;
  /** `etf`: each line is Erlang term text, sent as ETF; replies are shown as terms. Default `text`. */
  format?: MessageFormat;
  /** Keep the entered lines across sessions in the history file (`historyPath`). Default false. */
  history?: boolean;
  /**
   * When set, a connection that drops is replaced by the one this resolves with (it throws to give up; its
   * lines go to `log`, which prints them above the prompt). The prompt, what is being typed and the history
   * stay; lines entered meanwhile are sent once the new connection is up.
   */
  reconnect?: (reason: TlsechoError, signal: AbortSignal, log: Logger) => Promise<FramedClient>;
}

/**
 * The interactive session on a terminal: each entered line is sent as one frame, and replies are printed
 * as they arrive, above the prompt, without disturbing what is being typed. Line editing and history come
 * from readline; with `history`, the lines entered are kept across sessions in a file (see `historyPath`).
 * Ctrl-D on an empty line closes the connection (replies still on their way are printed, then the session
 * ends); a close by the server ends the session the same way; Ctrl-C clears the line, or on an empty line
 * interrupts.
 *
 * A line too long for the framing (or with `etf`, not a valid term) is refused with a message and the
 * session goes on.
 */
export async function replSession(
  client: FramedClient,
  io: Io,
  options: ReplOptions,
  log: Logger,
): Promise<void> {
  // Until the prompt is up, a warning about the history file is an ordinary line.
  let warn = (message: string) => log.warn(message);
  const history = options.history
    ? await HistoryFile.open(historyPath(io.env), (message) => warn(message))
    : undefined;
  try {
    await runRepl(client, io, options, log, history, (show) => (warn = show));
  } finally {
    await history?.settled();
  }
}

function runRepl(
  first: FramedClient,
  io: Io,
  options: ReplOptions,
  log: Logger,
  history: HistoryFile | undefined,
  onWarn: (warn: (message: string) => void) => void,
): Promise<void> {
  // The connection in use; replaced after each reconnection.
  let client = first;
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
    history: history?.entries ?? [],
    historySize: HISTORY_ENTRIES,
    removeHistoryDuplicates: true,
  });
  let lastRecorded = history?.entries[0];
  // Once the input has closed (Ctrl-D) nothing may touch readline again: redrawing the prompt would
  // resume reading the terminal, and the process would wait for keys that nobody is going to press.
  let inputOpen = true;

  // Wipe the prompt and what is typed after it, however many rows they wrap over, leaving the cursor at
  // the start of the prompt's first row.
  const clearInput = () => {
    moveCursor(io.stderr, 0, -rl.getCursorPos().rows);
    cursorTo(io.stderr, 0);
    clearScreenDown(io.stderr);
  };
  // Anything printed while the prompt is up goes above it: wipe the input, print, redraw the prompt with
  // the half-typed line and the cursor where they were.
  const above = (print: () => void) => {
    if (!inputOpen) {
      print();
      return;
    }
    clearInput();
    print();
    setDrawnRows(rl, 0);
    rl.prompt(true);
  };
  onWarn((message) => above(() => log.warn(message)));
  // The reconnection's lines, printed above the prompt like replies.
  const logAbove: Logger = {
    ...log,
    error: (message, fields) => above(() => log.error(message, fields)),
    warn: (message, fields) => above(() => log.warn(message, fields)),
    info: (message, fields) => above(() => log.info(message, fields)),
    verbose: (message, fields) => above(() => log.verbose(message, fields)),
  };
  // While reconnecting: the lines entered, sent once the new connection is up.
  let held: Buffer[] | undefined;
  const stopReconnecting = new AbortController();

  // Terminals re-wrap what is on the screen to the new width (tmux, VTE, iTerm2, kitty, Windows
  // Terminal), so the cursor's row within the input is the one it has at the new width. readline redraws
  // on 'resize' but moves up by the rows of the old width, leaving the old copy of a wrapped line on the
  // screen: tell it where the cursor is now, before its own listener runs.
  const onResize = () => {
    if (inputOpen) setDrawnRows(rl, rl.getCursorPos().rows);
  };
  io.stderr.prependListener('resize', onResize);

  return new Promise<void>((resolve, reject) => {
    let ended = false;
    const finish = (error?: unknown) => {
      io.stderr.off('resize', onResize);
      if (error === undefined) resolve();
      else reject(error);
    };
    const end = (error?: unknown, report?: string) => {
      if (ended) return;
      ended = true;
      stopReconnecting.abort();
      if (inputOpen) clearInput();
      inputOpen = false;
      if (report) log.info(report);
      rl.close();
      finish(error);
    };

    rl.on('line', (line) => {
      // As readline's own history: not blank lines, and not the same line twice in a row.
      if (history && line.trim() !== '' && line !== lastRecorded) {
        history.record(line);
        lastRecorded = line;
      }
      try {
        const payload = etf ? encodeTermMessage(line, 'that line') : Buffer.from(line, 'utf8');
        if (held) held.push(payload);
        else client.write(payload);
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

    // Ctrl-D on an empty line (or the terminal going away). Replies to lines already sent may still come
    // (the server reads our close and answers what it had); they print until the server closes.
    rl.on('close', () => {
      if (ended) return;
      ended = true;
      stopReconnecting.abort();
      clearInput();
      inputOpen = false;
      client.end().then(() => {
        log.info(`connection to ${client.target} closed`);
        finish();
      }, finish);
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

    // Never rejects: every failure goes to end().
    void (async () => {
      for (;;) {
        const current = client;
        let failure: unknown;
        try {
          for await (const frame of current) {
            above(() => io.stdout.write(format(frame)));
          }
        } catch (error) {
          failure = error;
        }
        if (ended) return;
        if (options.reconnect === undefined || (failure !== undefined && !isRetryable(failure))) {
          if (failure === undefined) end(undefined, `connection to ${current.target} closed by the server`);
          else end(failure);
          return;
        }
        const reason =
          (failure as TlsechoError | undefined) ??
          new ConnectionError(`${current.target} closed the connection`, { code: 'ERR_CONNECTION_CLOSED' });
        held = [];
        above(() =>
          log.info(`connection to ${current.target} lost; lines entered now are sent once it is back`),
        );
        try {
          client = await options.reconnect(reason, stopReconnecting.signal, logAbove);
        } catch (error) {
          end(error);
          return;
        }
        if (ended) {
          client.destroy();
          return;
        }
        const waiting = held;
        held = undefined;
        above(() =>
          log.info(
            `reconnected to ${client.target}${waiting.length > 0 ? `; sending the ${waiting.length} ${waiting.length === 1 ? 'line' : 'lines'} entered meanwhile` : ''}`,
          ),
        );
        try {
          for (const payload of waiting) client.write(payload);
        } catch {
          // Dropped again at once: the loop notices and reconnects.
        }
      }
    })();

    rl.prompt();
  });
}

// readline moves up by the rows it last drew the input over (its `prevRows`) before each redraw; it has no
// public way to say that the input was already wiped, or that the terminal re-wrapped it.
function setDrawnRows(rl: Interface, rows: number): void {
  (rl as unknown as { prevRows?: number }).prevRows = rows;
}
