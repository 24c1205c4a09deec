// The optional system programs some tests drive for real (nginx, HAProxy, Erlang/OTP, tmux, …), and the one
// rule for when one is missing: on a developer's machine the tests that need it are skipped and one line on
// stderr names the program and how to install it; under CI=true they fail, so CI never passes by testing less.
// `scripts/test-deps.sh` (`npm run test:deps`, also run by .ci/run) installs every package named here.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { isCi } from '../../src/io.js';

/** Each program, and the Debian packages that install it (all listed in scripts/test-deps.sh). */
export const SYSTEM_TOOLS = {
  escript: ['erlang-nox'],
  elixir: ['elixir'],
  groff: ['groff'],
  haproxy: ['haproxy'],
  jq: ['jq'],
  man: ['man-db'],
  // The example nginx.conf is a stream (TCP) proxy: nginx-light alone lacks the stream module.
  nginx: ['nginx-light', 'libnginx-mod-stream'],
  openssl: ['openssl'],
  python3: ['python3'],
  'systemd-analyze': ['systemd'],
  'systemd-socket-activate': ['systemd'],
  tmux: ['tmux'],
  zsh: ['zsh'],
} as const satisfies Record<string, readonly string[]>;

export type SystemTool = keyof typeof SYSTEM_TOOLS;

/** The absolute path of `command` as a shell would find it on `path`, or undefined. */
export function findTool(command: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

/** "nginx not found (apt-get install nginx-light libnginx-mod-stream, or npm run test:deps)". */
export function missingToolsNote(missing: readonly SystemTool[]): string {
  const names =
    missing.length === 1 ? missing[0]! : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)!}`;
  const packages = [...new Set(missing.flatMap((tool) => SYSTEM_TOOLS[tool]))].join(' ');
  return `${names} not found on the PATH (apt-get install ${packages}, or npm run test:deps)`;
}

export interface ToolGate {
  /** True when every tool is on the PATH. */
  available: boolean;
  missing: SystemTool[];
  /** The one-line note naming what is missing; empty when nothing is. */
  note: string;
  /** `describe`, skipped when a tool is missing. */
  describe: ReturnType<typeof describe.skipIf>;
  /** `test`, skipped when a tool is missing. */
  test: ReturnType<typeof test.skipIf>;
}

/**
 * Gates tests on system programs; call it at the top of the test file that needs them. With every tool on
 * the PATH, `describe` and `test` are vitest's own. Without one they skip, and one line on stderr says
 * which file skipped what and how to install it; under CI=true a failing test saying the same stands in.
 */
export function needs(...tools: SystemTool[]): ToolGate {
  const missing = tools.filter((tool) => findTool(tool) === undefined);
  const skip = missing.length > 0;
  const note = skip ? missingToolsNote(missing) : '';
  if (skip) {
    const file = expect.getState().testPath;
    const where = file ? `${relative(process.cwd(), file)}: ` : '';
    if (isCi(process.env)) {
      test(`${missing.join(' and ')} installed (CI runs every test)`, () => {
        throw new Error(`${note}: under CI=true every test must run, so a missing program is a failure`);
      });
    } else {
      // One whole line in one write, outside vitest's console capture, so it reads the same in every reporter.
      process.stderr.write(`${where}skipped: ${note}\n`);
    }
  }
  return { available: !skip, missing, note, describe: describe.skipIf(skip), test: test.skipIf(skip) };
}
