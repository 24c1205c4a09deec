import { describe, expect, test } from 'vitest';
import { runCli } from '../helpers/run-cli.js';

describe('environment variables', () => {
  test.each(['', 'anything'])(
    'a variable named exactly TLSECHO (%j) is not an option: commands run as without it',
    async (value) => {
      const result = await runCli(['send', '--help'], { env: { TLSECHO: value } });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const run = await runCli(['send', '127.0.0.1:1', 'hi', '--timeout', '2s'], { env: { TLSECHO: value } });
      // Port 1 refuses: a connection error (exit 4), not a usage error about an argument named "".
      expect(run.stderr.split('\n')[0]).toMatch(/^tlsecho: .*127\.0\.0\.1:1/);
      expect(run.code).toBe(4);
    },
  );
});
