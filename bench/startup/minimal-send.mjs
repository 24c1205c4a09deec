// The least a one-shot framed client can do in Node: open TLS, trust the server by a CA file or by the
// SHA-256 fingerprint of its certificate, write one {packet, 4} frame, read one reply, print it and exit.
// Plain JavaScript, so that nothing is compiled or resolved beyond Node's own modules: the start-up benchmark
// compares `tlsecho send` doing the same exchange against this.
//
//   node bench/startup/minimal-send.mjs --ca CA_FILE HOST PORT MESSAGE
//   node bench/startup/minimal-send.mjs --pin sha256:HEX HOST PORT MESSAGE
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { connect } from 'node:tls';

const [trust, trustValue, host, port, message] = process.argv.slice(2);
const payload = Buffer.from(message);
const header = Buffer.alloc(4);
header.writeUInt32BE(payload.length);
const options =
  trust === '--ca'
    ? { ca: readFileSync(trustValue) }
    : // With a pin no issuer is trusted (`ca: []` skips the root store); the fingerprint is checked below.
      { ca: [], rejectUnauthorized: false };
const socket = connect({ host, port: Number(port), minVersion: 'TLSv1.2', ...options }, () => {
  if (trust === '--pin') {
    const seen = `sha256:${socket.getPeerCertificate().fingerprint256.replaceAll(':', '').toLowerCase()}`;
    if (seen !== trustValue) {
      process.stderr.write(`pin mismatch: ${seen}\n`);
      process.exitCode = 5;
      socket.destroy();
      return;
    }
  }
  socket.write(Buffer.concat([header, payload]));
});
let received = Buffer.alloc(0);
socket.on('data', (chunk) => {
  received = Buffer.concat([received, chunk]);
  if (received.length >= 4 && received.length >= 4 + received.readUInt32BE(0)) {
    process.stdout.write(`${received.subarray(4, 4 + received.readUInt32BE(0))}\n`);
    socket.end();
  }
});
socket.on('error', (error) => {
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
});
