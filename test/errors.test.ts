import { describe, expect, test } from 'vitest';
import { systemReason } from '../src/errors.js';

// Tests that need a real read-only mount or a full disk are in test/hostile/output-errors.test.ts; these
// hold the wording where such a mount cannot be made.
describe('systemReason', () => {
  test.each([
    ['EROFS', 'read-only file system'],
    ['ENOSPC', 'no space left on the device'],
    ['EDQUOT', 'disk quota exceeded'],
    ['EIO', 'input/output error'],
    ['EACCES', 'permission denied'],
    ['ENOENT', 'no such file'],
  ])('%s reads "%s"', (code, reason) => {
    expect(systemReason(Object.assign(new Error(`${code}: raw message, write`), { code }))).toBe(reason);
  });

  test('an unknown code keeps the first line of the message', () => {
    expect(systemReason(Object.assign(new Error('EWEIRD: something odd\nmore'), { code: 'EWEIRD' }))).toBe(
      'EWEIRD: something odd',
    );
  });
});
