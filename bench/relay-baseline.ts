// The baseline the relay benchmark measures `tlsecho proxy` against: the least a Node TLS relay can do. Each
// client connection opens one TLS connection to the server and bytes are piped both ways as they come, with
// no framing, no display and no limits, so whatever `tlsecho proxy` costs above this is the price of its
// framing, display and flow control.
//
//   node --import tsx bench/relay-baseline.ts --cert server.crt --key server.key --ca ca.crt --target-port N
//
// Prints {"port": N, "pid": P} on one line of stdout once listening; stops on SIGTERM or SIGINT.
import { readFileSync } from 'node:fs';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';
import { listenAndAnnounce } from './baseline-listen.js';

const { values } = parseArgs({
  options: {
    cert: { type: 'string' },
    key: { type: 'string' },
    ca: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'target-host': { type: 'string', default: '127.0.0.1' },
    'target-port': { type: 'string' },
  },
});
if (
  values.cert === undefined ||
  values.key === undefined ||
  values.ca === undefined ||
  values['target-port'] === undefined
) {
  process.stderr.write(
    'usage: relay-baseline --cert FILE --key FILE --ca FILE --target-port N [--target-host H] [--host H] [--port N]\n',
  );
  process.exitCode = 2;
} else {
  const ca = readFileSync(values.ca);
  const targetHost = values['target-host']!;
  const targetPort = Number(values['target-port']);
  const sockets = new Set<TLSSocket>();
  const track = (socket: TLSSocket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
  };
  const server = createServer(
    { cert: readFileSync(values.cert), key: readFileSync(values.key), minVersion: 'TLSv1.2' },
    (client) => {
      track(client);
      // Verification on, as `tlsecho proxy --ca` does it: both relays pay for the same handshake.
      const upstream = connect({ host: targetHost, port: targetPort, ca, servername: 'localhost' });
      track(upstream);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
      client.on('close', close);
      upstream.on('close', close);
      client.pipe(upstream);
      upstream.pipe(client);
    },
  );
  listenAndAnnounce(server, sockets, values.host, Number(values.port));
}
