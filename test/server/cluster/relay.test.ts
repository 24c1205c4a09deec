import { describe, expect, test } from 'vitest';
import { labelLine } from '../../../src/server/cluster/relay.js';

describe('labelLine: how the primary prints a line of a worker', () => {
  test('text lines get the worker in front', () => {
    expect(labelLine('listening on 127.0.0.1:7000', 3, false)).toBe('[w3] listening on 127.0.0.1:7000');
  });

  test('JSON lines keep a worker field they have, and get one after level when they lack it', () => {
    const own = '{"time":"t","level":"info","msg":"accepted","worker":2,"pid":7}';
    expect(labelLine(own, 2, true)).toBe(own);
    expect(labelLine('{"time":"t","level":"error","code":"ERR_X","msg":"boom"}', 2, true)).toBe(
      '{"time":"t","level":"error","worker":2,"code":"ERR_X","msg":"boom"}',
    );
  });

  test('with --json a line that is not JSON is wrapped, so stderr stays JSON lines', () => {
    const wrapped = JSON.parse(labelLine('(node:42) Warning: something', 1, true)) as Record<string, unknown>;
    expect(wrapped).toMatchObject({ level: 'warn', worker: 1, msg: '(node:42) Warning: something' });
  });
});
