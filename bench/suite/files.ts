// Files the benchmark scripts share: the test certificate the servers use, and the results they write.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSelfSigned } from '../../src/certs/generate.js';
import type { Credentials } from '../servers.js';

const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** A self-signed certificate for localhost and its key (0600) in `dir`, for the servers under test. */
export async function writeCredentials(dir: string): Promise<Credentials & { certPem: string }> {
  const cert = await generateSelfSigned({ hosts: ['localhost', '127.0.0.1'] });
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  await writeFile(certFile, cert.certPem);
  await writeFile(keyFile, cert.keyPem, { mode: 0o600 });
  return { certFile, keyFile, certPem: cert.certPem };
}

/** The machine a run was made on, as the results record it; `loadBefore` is loadavg() from its start. */
export function describeMachine(loadBefore: number[]) {
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    loadAverageBefore: loadBefore.map((n) => Number(n.toFixed(2))),
    loadAverageAfter: loadavg().map((n) => Number(n.toFixed(2))),
  };
}

/** One run as bench/results/NAME.json holds it. */
export interface RunResults {
  started: Date;
  finished: Date;
  machine: object;
  settings: object;
  rows: object[];
}

/** Writes bench/results/NAME.json and NAME.md; returns the line that says so. */
export async function writeResults(name: string, run: RunResults, markdown: string): Promise<string> {
  const json = { ...run, started: run.started.toISOString(), finished: run.finished.toISOString() };
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(join(RESULTS_DIR, `${name}.md`), markdown);
  return `wrote ${join('bench', 'results', `${name}.json`)} and ${name}.md`;
}
