// The least a TLS server can do in Node before it accepts connections: read a certificate and key, listen,
// and say where. The start-up benchmark compares `tlsecho serve` reaching its listening line against this.
//
//   node bench/startup/minimal-server.mjs CERT_FILE KEY_FILE
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { createServer } from 'node:tls';

const [certFile, keyFile] = process.argv.slice(2);
const server = createServer({
  cert: readFileSync(certFile),
  key: readFileSync(keyFile),
  minVersion: 'TLSv1.2',
});
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`listening on 127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close());
