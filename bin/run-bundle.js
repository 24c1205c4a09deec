'use strict';
// Runs the bundled command line (dist/bin/tlsecho.cjs) with V8's code cache for it, so that a one-shot run
// does not compile the same code again every time. Node 20 has no compile cache of its own for modules
// (module.enableCompileCache is Node 22.1+), and compiling the bundle was about a tenth of a one-shot `send`.
//
// The cache is written by `npm run build` (scripts/write-code-cache.cjs) after a training run. It is used
// only when it was made for this very build of the bundle (the build's id, recorded in the cache's first
// line) and V8 accepts it (same V8 version and flags); otherwise the bundle is compiled as usual, and the
// cache replaced for the next run.
// Plain CommonJS, not TypeScript: this file loads the bundle, so it cannot be part of it.
const { readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
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

/**
 * The cache kept for `stamp`: undefined when there is no cache file; `{ code: undefined }` when there is one
 * made for another build, which must not be used but may be replaced.
 */
function readCache(cacheFile, stamp) {
  let data;
  try {
    data = readFileSync(cacheFile);
  } catch {
    return undefined; // no cache: compile as usual
  }
  const end = data.indexOf(NEWLINE);
  if (end < 0 || data.toString('latin1', 0, end) !== stamp) return { code: undefined };
  return { code: data.subarray(end + 1) };
}

/** Writes the cache in one rename, so that a reader (another run, at the same moment) never sees half. */
function writeCacheFile(cacheFile, stamp, script) {
  const temporary = `${cacheFile}.${process.pid}`;
  try {
    writeFileSync(temporary, Buffer.concat([Buffer.from(`${stamp}\n`, 'latin1'), script.createCachedData()]));
    renameSync(temporary, cacheFile);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Compiles and runs `file` as a CommonJS module, as `require` would, but through vm.Script so that a code
 * cache can be given. The cache is written when the process exits (after the run has compiled the functions
 * it used): always with `writeCache` (the build), and in passing when the cache there could not be used
 * because another Node (another V8) or another build made it. Then a Node upgrade costs one slow run, not
 * every run after it; an installation this user cannot write to just goes on compiling.
 */
function runBundle(file, { writeCache = false } = {}) {
  const cacheFile = `${file}.cache`;
  const source = readFileSync(file, 'utf8');
  const stamp = bundleStamp(source);
  const cached = writeCache ? undefined : readCache(cacheFile, stamp);
  const script = new vm.Script(wrap(source), { filename: file, cachedData: cached?.code });
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(dirname(file));
  const bundleRequire = (id) => bundle.require(id);
  bundleRequire.resolve = (request) => Module._resolveFilename(request, bundle);
  bundleRequire.main = require.main;
  if (writeCache) {
    process.once('exit', () => writeCacheFile(cacheFile, stamp, script));
  } else if (cached !== undefined && (cached.code === undefined || script.cachedDataRejected)) {
    process.once('exit', () => {
      try {
        writeCacheFile(cacheFile, stamp, script);
      } catch {
        // Read-only or not ours: the next run compiles again, as this one did.
      }
    });
  }
  script.runInThisContext()(bundle.exports, bundleRequire, bundle, file, dirname(file), launcherImport);
}

module.exports = { runBundle, wrap };
