import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Io } from '../../io.js';

// How the primary passes its workers' output on: each line labelled with the worker it came from.

/** `w1`, as logs name workers. */
export function workerLabel(slot: number): string {
  return `w${slot}`;
}

/** Copies a worker's output to `target` line by line, each labelled with `labelLine`. */
export function relayLines(source: Readable, target: Io['stderr'], slot: number, json: boolean): void {
  source.setEncoding('utf8');
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  lines.on('line', (line) => target.write(`${labelLine(line, slot, json)}\n`));
}

/**
 * One line of a worker's output as the primary prints it: `[w1] ` in front of text; with `--json`, a
 * `"worker": 1` field in JSON lines that lack one (the CLI's own error line), and anything that is not
 * JSON (a Node warning, a stack trace) wrapped in a JSON line, so stderr stays one JSON object per line.
 */
export function labelLine(line: string, slot: number, json: boolean): string {
  if (!json) return `[${workerLabel(slot)}] ${line}`;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      if ('worker' in parsed) return line;
      const { time, level, ...rest } = parsed as Record<string, unknown>;
      return JSON.stringify({ time, level, worker: slot, ...rest });
    }
  } catch {
    // Not JSON: wrapped below.
  }
  return JSON.stringify({ time: new Date().toISOString(), level: 'warn', worker: slot, msg: line });
}
