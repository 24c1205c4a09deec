import { spawnCli } from '../../helpers/run-cli.js';

export interface ServeChild {
  port: number;
  /** Everything the server wrote on stderr so far. */
  log(): string;
}

const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;

/**
 * Starts a real `tlsecho serve` on 127.0.0.1 and a free port, as a child process, and resolves once it says
 * where it listens. Killed when the test ends (spawnCli sees to it).
 */
export function startServeChild(args: string[], timeoutMs = 10_000): Promise<ServeChild> {
  const child = spawnCli(['serve', '--host', '127.0.0.1', '--port', '0', ...args]);
  let stderr = '';
  child.stdout!.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tlsecho serve did not start: ${stderr}`)), timeoutMs);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      stderr += text;
      const match = LISTENING.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({ port: Number(match[1]), log: () => stderr });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tlsecho serve exited with ${code}: ${stderr}`));
    });
  });
}
