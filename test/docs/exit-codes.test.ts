import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { EXIT_CODE_MEANINGS } from '../../src/exit-codes.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

// The table lives in src/exit-codes.ts; the README copies it, and must keep copying it word for word.
test('the README lists every exit code with its meaning', () => {
  for (const { code, meaning } of EXIT_CODE_MEANINGS) {
    expect(readme).toContain(`| ${code} | ${meaning} |`);
  }
});
