'use strict';
// npm run build, last step: writes dist/bin/tlsecho.cjs.cache (see bin/run-bundle.js) after a training run
// that compiles what a one-shot `send` compiles: parsing its flags, loading its code, dialling and failing
// to connect (to a port nothing listens on, so the build needs no server and no network).
//
//   node scripts/write-code-cache.cjs
const { createServer } = require('node:net');
const { join } = require('node:path');
const { runBundle } = require('../bin/run-bundle.js');

const bundle = join(__dirname, '../dist/bin/tlsecho.cjs');

// A port that refuses: bound, then closed, so nothing listens on it for the moment the training run needs.
const probe = createServer().listen(0, '127.0.0.1', () => {
  const { port } = probe.address();
  probe.close(() => {
    process.argv = [
      process.argv[0],
      bundle,
      'send',
      '--pin',
      `sha256:${'0'.repeat(64)}`,
      `127.0.0.1:${port}`,
      'ping',
    ];
    runBundle(bundle, { writeCache: true });
    // The training run fails to connect, as it should: that is not the build's exit code.
    process.once('exit', () => (process.exitCode = 0));
  });
});
