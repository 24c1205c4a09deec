import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { collectReference } from './cli-reference.js';
import { renderManPage } from './man-page.js';
import { renderReference, replaceReference } from './readme-reference.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MAN_TEMPLATE = fileURLToPath(new URL('../../man/tlsecho.1.in', import.meta.url));
export const MAN_PAGE = fileURLToPath(new URL('../../man/tlsecho.1', import.meta.url));
export const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** The documents as the definitions say they should be, keyed by path. */
export async function generateDocs(): Promise<Map<string, string>> {
  const reference = collectReference();
  const [template, readme] = await Promise.all([readFile(MAN_TEMPLATE, 'utf8'), readFile(README, 'utf8')]);
  return new Map([
    [MAN_PAGE, renderManPage(template, reference)],
    [README, replaceReference(readme, renderReference(reference))],
  ]);
}
