// IP addresses in `gencert --host` as people type them, IPv6 with a dotted IPv4 tail included: the
// certificate must name exactly that address (all 16 bytes), as openssl reads it. Run `npm run build` first.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { openssl } from '../certs/openssl.js';
import { needs } from '../helpers/system-tools.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';

const withOpenssl = needs('openssl');

describe('gencert --host with an IP address', () => {
  withOpenssl.test.each([
    ['::ffff:127.0.0.1', 'IP Address:0:0:0:0:0:FFFF:7F00:1', '::ffff:7f00:1'],
    ['::1.2.3.4', 'IP Address:0:0:0:0:0:0:102:304', '::102:304'],
    ['64:ff9b::1.2.3.4', 'IP Address:64:FF9B:0:0:0:0:102:304', '64:ff9b::102:304'],
    ['[2001:db8::7]', 'IP Address:2001:DB8:0:0:0:0:0:7', '2001:db8::7'],
    ['192.0.2.10', 'IP Address:192.0.2.10', '192.0.2.10'],
  ])('%s: the certificate names that address and no other', async (host, san, shown) => {
    const cwd = await makeTempDir();
    const r = await runCli(['gencert', '--host', host], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')[0]).toBe(`Created a self-signed server certificate for ${shown}`);
    const ext = await openssl([
      'x509',
      '-in',
      join(cwd, 'certs/server.crt'),
      '-noout',
      '-ext',
      'subjectAltName',
    ]);
    expect(ext.stdout.split('\n').map((line) => line.trim())).toEqual([
      'X509v3 Subject Alternative Name:',
      san,
      '',
    ]);
    const subject = await openssl(['x509', '-in', join(cwd, 'certs/server.crt'), '-noout', '-subject']);
    expect(subject.stdout).toBe(`subject=CN = ${shown}, O = tlsecho development certificate\n`);
  });

  test.each([
    ['', 'tlsecho: no host names given: pass at least one --host (a DNS name or an IP address)'],
    [' , ', 'tlsecho: no host names given: pass at least one --host (a DNS name or an IP address)'],
    ['fe80::1%eth0', "tlsecho: invalid host 'fe80::1%eth0': a zone index (%eth0) cannot go in a certificate"],
    ['::ffff:1.2.3', "tlsecho: invalid host '::ffff:1.2.3': not a DNS name or an IP address"],
  ])('--host %j: exit 2, one line naming it and the usage hint, no file written', async (host, line) => {
    const cwd = await makeTempDir();
    const r = await runCli(['gencert', '--host', host], { cwd });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr: `${line}\nhint: see 'tlsecho gencert --help'\n`,
    });
    expect(await readdir(cwd)).toEqual([]);
  });
});
