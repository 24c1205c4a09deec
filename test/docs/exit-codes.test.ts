import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { EXIT_CODE_MEANINGS } from '../../src/exit-codes.js';
import { manSections, plainRoff, readManPage } from './helpers/documented.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

// The table lives in src/exit-codes.ts; the README copies it, and must keep copying it word for word.
test('the README lists every exit code with its meaning', () => {
  for (const { code, meaning } of EXIT_CODE_MEANINGS) {
    expect(readme).toContain(`| ${code} | ${meaning} |`);
  }
});

// The man page's EXIT STATUS is a list of `.TP` entries: the code as the tag, the meaning below it.
test('the man page EXIT STATUS lists every exit code with its meaning, and no other', () => {
  const body = manSections(readManPage()).get('EXIT STATUS') ?? [];
  const entries = body.flatMap((line, index) =>
    line === '.TP' ? [[plainRoff(body[index + 1] ?? ''), plainRoff(body[index + 2] ?? '')]] : [],
  );
  expect(entries).toEqual(EXIT_CODE_MEANINGS.map(({ code, meaning }) => [String(code), meaning]));
});
