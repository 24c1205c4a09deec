import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loopbackAddress, tcpSockets } from '../helpers/proc-net-tcp.js';
import { needs } from '../helpers/system-tools.js';
import { BIN, runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/tmpdir.js';
import { freePort, startProgram, until, writePki, type Pki, type Watched } from './helpers.js';

// `tlsecho serve` under systemd-socket-activate, which does what a .socket unit does: it binds the port,
// accepts nothing itself, and on the first connection starts the service with the socket as fd 3
// (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES). That first connection waits in the backlog meanwhile.

const tool = needs('systemd-socket-activate');

interface Activated extends Watched {
  /** Each -l address's port, in order (fd 3, 4, …). */
  ports: number[];
}

/**
 * systemd-socket-activate on fresh 127.0.0.1 ports, about to start `tlsecho serve ...serveArgs` on the
 * first connection. It needs concrete ports: a free one can be taken between our check and its bind, so a
 * port in use is retried with another.
 */
async function activate(
  serveArgs: string[],
  options: { sockets?: number; fdnames?: string } = {},
): Promise<Activated> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < (options.sockets ?? 1); i++) ports.push(await freePort());
    const program = startProgram('systemd-socket-activate', [
      ...ports.map((port) => `--listen=127.0.0.1:${port}`),
      ...(options.fdnames === undefined ? [] : [`--fdname=${options.fdnames}`]),
      // It passes on only PATH, HOME, USER and TERM: these are what every CLI test runs with (cliEnv).
      '--setenv=CI=true',
      '--setenv=NO_COLOR=1',
      process.execPath,
      BIN,
      'serve',
      ...serveArgs,
    ]);
    const outcome = await until(
      () =>
        program
          .text()
          .split('\n')
          .filter((line) => /^Listening on .* as \d+\.$/.test(line)).length === ports.length
          ? 'listening'
          : program.child.exitCode !== null
            ? 'exited'
            : undefined,
      `systemd-socket-activate to bind ${ports.join(', ')}\n--- so far:\n${program.text()}`,
    );
    if (outcome === 'listening') return { ...program, ports };
    if (!/Address already in use/.test(program.text()) || attempt === 5) {
      throw new Error(`systemd-socket-activate did not start:\n${program.text()}`);
    }
  }
}

/** The inode of the socket listening on 127.0.0.1:`port`. */
function listeningInode(port: number): string {
  const local = loopbackAddress(port);
  const row = tcpSockets().find((each) => each.local === local && each.state === '0A');
  if (row === undefined) throw new Error(`nothing listens on 127.0.0.1:${port}`);
  return row.inode;
}

async function pki(): Promise<Pki> {
  return writePki(await makeTempDir());
}

function send(port: number, pki: Pki, ...args: string[]) {
  return runCli(['send', `127.0.0.1:${port}`, '--ca', pki.caFile, ...args]);
}

tool.describe('tlsecho serve under systemd socket activation', () => {
  tool.test(
    'the first connection, made before serve has started, is answered; the log names the real address',
    async () => {
      const certs = await pki();
      const activated = await activate(['--cert', certs.certFile, '--key', certs.keyFile]);
      const [port] = activated.ports;
      // Nothing of tlsecho runs yet: the socket is bound and waits for a client.
      expect(activated.text()).not.toMatch(/Execing|listening on/);

      const reply = await send(port!, certs, 'first', 'second');

      expect(reply).toMatchObject({ code: 0, stdout: 'first\nsecond\n', stderr: '' });
      expect(activated.text()).toContain(
        `listening on 127.0.0.1:${port} (packet 4, echo, socket from systemd)\n`,
      );
    },
  );

  tool.test('--workers 2: every connection through the inherited socket is answered', async () => {
    const certs = await pki();
    const activated = await activate(['--workers', '2', '--cert', certs.certFile, '--key', certs.keyFile]);
    const [port] = activated.ports;

    for (const message of ['one', 'two', 'three', 'four']) {
      expect(await send(port!, certs, message)).toMatchObject({ code: 0, stdout: `${message}\n` });
    }

    expect(activated.text()).toContain(
      `listening on 127.0.0.1:${port} with 2 workers (packet 4, echo, socket from systemd)\n`,
    );
    expect(activated.text()).toMatch(/\[w1\] listening on 127\.0\.0\.1:\d+ /);
    expect(activated.text()).toMatch(/\[w2\] listening on 127\.0\.0\.1:\d+ /);
  });

  tool.test('--workers 1: a worker killed and restarted listens on the inherited socket again', async () => {
    const certs = await pki();
    const activated = await activate([
      '--workers',
      '1',
      '--json',
      '--cert',
      certs.certFile,
      '--key',
      certs.keyFile,
    ]);
    const [port] = activated.ports;
    expect(await send(port!, certs, 'before')).toMatchObject({ code: 0, stdout: 'before\n' });
    const listening = activated
      .text()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { event?: string; worker?: number; pid?: number })
      .find((event) => event.event === 'listening' && event.worker === 1);
    expect(listening?.pid).toBeGreaterThan(0);

    process.kill(listening!.pid!, 'SIGKILL');
    await activated.waitFor(/worker w1 restarted/);

    // With the only worker gone, a primary that had node:cluster open the socket would have closed it.
    expect(await send(port!, certs, 'after')).toMatchObject({ code: 0, stdout: 'after\n' });
  });

  tool.test('--proxy-protocol: the PROXY listener takes the inherited socket', async () => {
    const certs = await pki();
    const activated = await activate(['--proxy-protocol', '--cert', certs.certFile, '--key', certs.keyFile]);
    const [port] = activated.ports;

    const reply = await send(port!, certs, '--proxy-header', 'v1', 'behind a balancer');

    expect(reply).toMatchObject({ code: 0, stdout: 'behind a balancer\n', stderr: '' });
    expect(activated.text()).toContain(
      `listening on 127.0.0.1:${port} (packet 4, echo, PROXY protocol header required, socket from systemd)\n`,
    );
  });

  tool.test('of several sockets it listens on the one named tlsecho (FileDescriptorName=)', async () => {
    const certs = await pki();
    const activated = await activate(['--cert', certs.certFile, '--key', certs.keyFile], {
      sockets: 2,
      fdnames: 'admin:tlsecho',
    });
    const [admin, named] = activated.ports;

    expect(await send(named!, certs, 'named')).toMatchObject({ code: 0, stdout: 'named\n' });
    expect(activated.text()).toContain(`listening on 127.0.0.1:${named} (`);
    expect(activated.text()).not.toContain(`listening on 127.0.0.1:${admin} (`);
  });

  tool.test(
    'several sockets none of them named tlsecho: exit 2 and one line saying how to name one',
    async () => {
      const certs = await pki();
      const activated = await activate(['--cert', certs.certFile, '--key', certs.keyFile], { sockets: 2 });
      // The first connection starts serve, which refuses to guess.
      const client = tcpConnect(activated.ports[0]!, '127.0.0.1');
      client.on('error', () => {});

      const exit = await activated.exited;
      client.destroy();

      expect(exit.code).toBe(2);
      expect(activated.text()).toContain(
        'tlsecho: systemd passed 2 sockets (3 (unknown), 4 (unknown)); tlsecho serve listens on one: name it with FileDescriptorName=tlsecho in the .socket unit\n',
      );
    },
  );

  tool.test('--port beside an inherited socket is exit 2 naming both', async () => {
    const certs = await pki();
    const activated = await activate(['--port', '7000', '--cert', certs.certFile, '--key', certs.keyFile]);
    const client = tcpConnect(activated.ports[0]!, '127.0.0.1');
    client.on('error', () => {});

    const exit = await activated.exited;
    client.destroy();

    expect(exit.code).toBe(2);
    expect(activated.text()).toContain(
      'tlsecho: --port cannot go with the socket systemd passed (fd 3, LISTEN_FDS): its address comes from ListenStream= in the .socket unit\n',
    );
  });

  tool.test('a Unix socket (ListenStream=/path) is exit 2 and one line saying to listen on TCP', async () => {
    const certs = await pki();
    const path = join(await makeTempDir(), 'tlsecho.sock');
    const activated = startProgram('systemd-socket-activate', [
      `--listen=${path}`,
      '--setenv=CI=true',
      '--setenv=NO_COLOR=1',
      process.execPath,
      BIN,
      'serve',
      '--cert',
      certs.certFile,
      '--key',
      certs.keyFile,
    ]);
    await until(
      () => activated.text().includes(`Listening on ${path} as 3.`) || undefined,
      'the Unix socket',
    );
    const client = tcpConnect(path);
    client.on('error', () => {});

    const exit = await activated.exited;
    client.destroy();

    expect(exit.code).toBe(2);
    expect(activated.text()).toContain(
      `tlsecho: inherited socket 3 is a Unix socket; tlsecho serve listens on TCP: use ListenStream=PORT or ListenStream=ADDRESS:PORT in the .socket unit\n`,
    );
    expect(activated.text()).not.toMatch(/internal error|\n\s+at /);
  });

  tool.test('exec: handlers do not hold the inherited listening socket', async () => {
    const certs = await pki();
    // The shell prints what each of its descriptors is (`socket:[INODE]`, `pipe:[…]`), on one line.
    const activated = await activate([
      '--handler',
      'exec:echo $(for fd in /proc/$$/fd/*; do readlink $fd; done); cat',
      '--cert',
      certs.certFile,
      '--key',
      certs.keyFile,
    ]);
    const port = activated.ports[0]!;

    const reply = await send(port, certs, '--count', '2', 'x');

    expect(reply.code).toBe(0);
    const [held, echoed] = reply.stdout.split('\n');
    expect(echoed).toBe('x');
    // Its stdin, stdout and stderr at least, and never the socket listening on the port.
    expect(held!.match(/socket:\[\d+\]/g)!.length).toBeGreaterThanOrEqual(3);
    expect(held).not.toContain(`socket:[${listeningInode(port)}]`);
  });

  tool.test('exec: handlers do not inherit LISTEN_FDS or LISTEN_PID', async () => {
    const certs = await pki();
    const activated = await activate([
      '--handler',
      'exec:sh -c \'while read -r line; do echo "$line ${LISTEN_FDS:-no}-${LISTEN_PID:-no}"; done\'',
      '--cert',
      certs.certFile,
      '--key',
      certs.keyFile,
    ]);

    const reply = await send(activated.ports[0]!, certs, 'fds');

    expect(reply).toMatchObject({ code: 0, stdout: 'fds no-no\n' });
  });
});
