'use strict';
// Runs the bundled command line (dist/bin/tlsecho.cjs) with V8's code cache for it, so that a one-shot run
// does not compile the same code again every time. Node 20 has no compile cache of its own for modules
// (module.enableCompileCache is Node 22.1+), and compiling the bundle was about a tenth of a one-shot `send`.
//
// The cache is written by `npm run build` (scripts/write-code-cache.cjs) after a training run. It is used
// only when it was made for this very build of the bundle (the build's id, recorded in the cache's first
// line) and V8 accepts it (same V8 version and flags); otherwise the bundle is compiled as usual.
// Plain CommonJS, not TypeScript: this file loads the bundle, so it cannot be part of it.
const { readFileSync, writeFileSync, renameSync } = require('node:fs');
const Module = require('node:module');
const { dirname } = require('node:path');
const vm = require('node:vm');

const NEWLINE = 0x0a;

/**
 * CommonJS's module wrapper with one more parameter: the bundle's import() (src/import-module.ts becomes a
 * call to it). Node 20 cannot run an import() inside code that came from a code cache; here it can. Only
 * absolute URLs and package names are passed, so resolving from this directory is the same as from dist/.
 */
const wrap = (source) =>
  `(function (exports, require, module, __filename, __dirname, launcherImport) {${source}\n})`;
const launcherImport = (specifier) => import(specifier);

/**
 * The identity of a bundle as the cache records it: its first line, a comment with an id that each build makes
 * afresh (scripts/bundle-cli.ts). Not the file's modification time: npm sets that to a constant on install.
 */
const bundleStamp = (source) => source.slice(0, source.indexOf('\n'));

function readCache(cacheFile, stamp) {
  let data;
  try {
    data = readFileSync(cacheFile);
  } catch {
    return undefined; // no cache: compile as usual
  }
  const end = data.indexOf(NEWLINE);
  if (end < 0 || data.toString('latin1', 0, end) !== stamp) return undefined;
  return data.subarray(end + 1);
}

/**
 * Compiles and runs `file` as a CommonJS module, as `require` would, but through vm.Script so that a code
 * cache can be given. With `writeCache`, writes the cache for `file` when the process exits (after the run
 * has compiled the functions it used), replacing the file in one rename so that a reader never sees half.
 */
function runBundle(file, { writeCache = false } = {}) {
  const cacheFile = `${file}.cache`;
  const source = readFileSync(file, 'utf8');
  const stamp = bundleStamp(source);
  const script = new vm.Script(wrap(source), {
    filename: file,
    cachedData: writeCache ? undefined : readCache(cacheFile, stamp),
  });
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(dirname(file));
  const bundleRequire = (id) => bundle.require(id);
  bundleRequire.resolve = (request) => Module._resolveFilename(request, bundle);
  bundleRequire.main = require.main;
  if (writeCache) {
    process.once('exit', () => {
      const temporary = `${cacheFile}.${process.pid}`;
      writeFileSync(
        temporary,
        Buffer.concat([Buffer.from(`${stamp}\n`, 'latin1'), script.createCachedData()]),
      );
      renameSync(temporary, cacheFile);
    });
  }
  script.runInThisContext()(bundle.exports, bundleRequire, bundle, file, dirname(file), launcherImport);
}

module.exports = { runBundle, wrap };
