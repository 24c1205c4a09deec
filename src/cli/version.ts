import { readFileSync } from 'node:fs';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The tool's version, as `--version` prints it. */
export const VERSION = packageJson.version;

/**
 * `tlsecho --version` alone is answered before the command line is built: yargs and its help layout are most
 * of what a run loads, and a version probe in a script should cost no more than starting Node.
 */
export function isBareVersionRequest(argv: readonly string[]): boolean {
  return argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V');
}
