// The baseline the suite measures tlsecho against: the least a Node TLS echo server can do. Bytes are piped
// straight back with no framing, no handler and no limits, so whatever tlsecho costs above this is the
// price of its framing and features.
//
//   node --import tsx bench/baseline-server.ts --cert server.crt --key server.key [--port 0]
//
// Prints {"port": N, "pid": P} on one line of stdout once listening; stops on SIGTERM or SIGINT.
import { readFileSync } from 'node:fs';
import { createServer, type TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';
import { listenAndAnnounce } from './baseline-listen.js';

const { values } = parseArgs({
  options: {
    cert: { type: 'string' },
    key: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
  },
});
if (values.cert === undefined || values.key === undefined) {
  process.stderr.write('usage: baseline-server --cert FILE --key FILE [--host H] [--port N]\n');
  process.exitCode = 2;
} else {
  const sockets = new Set<TLSSocket>();
  const server = createServer(
    { cert: readFileSync(values.cert), key: readFileSync(values.key), minVersion: 'TLSv1.2' },
    (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.setNoDelay(true);
      socket.on('error', () => socket.destroy());
      socket.pipe(socket);
    },
  );
  listenAndAnnounce(server, sockets, values.host, Number(values.port));
}
