import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { generateCa, issueCertificate } from '../../src/certs/generate.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { startServer } from '../server/helpers/fixture.js';

// `--ca FILE` adds trust to the system store instead of replacing it. Node's store is its bundled roots plus
// NODE_EXTRA_CA_CERTS, so a CA placed there plays a system-trusted issuer without touching the machine.
test.each([
  { name: '--ca names the issuer', trustCa: true, systemCa: false, code: 0 },
  {
    name: 'the issuer is in the system store and --ca names another CA',
    trustCa: false,
    systemCa: true,
    code: 0,
  },
  { name: 'neither trusts the issuer', trustCa: false, systemCa: false, code: 5 },
])('send with --ca: $name → exit $code', async ({ trustCa, systemCa, code }) => {
  const dir = await makeTempDir();
  const [issuer, other] = await Promise.all([
    generateCa({ cn: 'issuing CA' }),
    generateCa({ cn: 'other CA' }),
  ]);
  const leaf = await issueCertificate({ issuer, kind: 'server', hosts: ['127.0.0.1'] });
  const { port } = await startServer({ cert: leaf.certPem, key: leaf.keyPem });
  await writeFile(join(dir, 'issuer.crt'), issuer.certPem);
  await writeFile(join(dir, 'other.crt'), other.certPem);
  const result = await runCli(
    ['send', '--ca', trustCa ? 'issuer.crt' : 'other.crt', `127.0.0.1:${port}`, 'ping'],
    { cwd: dir, env: { NODE_EXTRA_CA_CERTS: systemCa ? join(dir, 'issuer.crt') : '' } },
  );
  expect(result.code, result.stderr).toBe(code);
  expect(result.stdout).toBe(code === 0 ? 'ping\n' : '');
});
