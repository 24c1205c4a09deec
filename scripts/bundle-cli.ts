// npm run build, second step: bundles the command line into one file, dist/bin/tlsecho.cjs, and writes V8's
// code cache for it. On Node 20, which has no module compile cache, resolving, reading and compiling about 120
// ESM files (62 of ours, 60 of yargs and its helpers) was most of a one-shot `send`; one CommonJS file run
// with a code cache (bin/run-bundle.js) is read and deserialised instead.
//
// Each command's implementation stays behind the dynamic import in its handler, so it runs only when its
// command does. Packages that only some runs need (ora on a terminal, the prompts, the X.509 builder, the
// latency histogram) stay external and load from node_modules when a run uses them.
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = 'dist/bin';
const HELP_LAYOUT = fileURLToPath(new URL('../src/cli/help-layout.ts', import.meta.url));

/**
 * yargs' own imports of cliui and string-width become stand-ins that defer to `src/cli/help-layout.ts`, which
 * `main` loads only on runs that print help (see that file). Imports from anywhere else resolve as usual,
 * which is how help-layout.ts itself reaches the real packages.
 */
const deferHelpLayout: Plugin = {
  name: 'defer-help-layout',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^(cliui|string-width)$/ }, (args) =>
      /[\\/]node_modules[\\/]yargs[\\/]/.test(args.importer)
        ? { path: args.path, namespace: 'deferred' }
        : undefined,
    );
    esbuild.onLoad({ filter: /.*/, namespace: 'deferred' }, (args) => ({
      resolveDir: ROOT,
      loader: 'js',
      contents:
        `import { deferredHelpLayout } from ${JSON.stringify(HELP_LAYOUT)};\n` +
        (args.path === 'cliui'
          ? 'export default (options) => deferredHelpLayout().cliui(options);\n'
          : 'export default (text) => deferredHelpLayout().stringWidth(text);\n'),
    }));
  },
};

const IMPORT_MODULE = fileURLToPath(new URL('../src/import-module.ts', import.meta.url));

/**
 * `src/import-module.ts` becomes a call to `launcherImport`, which bin/run-bundle.js hands the bundle: Node 20
 * cannot run an import() in code that came from a code cache, but the launcher, an ordinary module, can.
 */
const importThroughLauncher: Plugin = {
  name: 'import-through-launcher',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]src[\\/]import-module\.ts$/ }, (args) =>
      args.path === IMPORT_MODULE
        ? {
            loader: 'js',
            contents: 'export const importModule = (specifier) => launcherImport(specifier);\n',
          }
        : undefined,
    );
  },
};

await rm(`${ROOT}/${OUT_DIR}`, { recursive: true, force: true });
const shared: BuildOptions = {
  absWorkingDir: ROOT,
  outdir: OUT_DIR,
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  external: ['ora', '@inquirer/prompts', '@peculiar/x509', 'reflect-metadata', 'hdr-histogram-js'],
  sourcemap: 'linked',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'linked',
  logLevel: 'warning',
};
// The command line: one CommonJS file, because that is what Node 20 loads fastest and what bin/run-bundle.js
// can run with a code cache. Each command's code is still only run (not compiled: V8 compiles a function on
// its first call) when the command runs. import.meta.url becomes the bundle's own file URL.
await build({
  ...shared,
  entryPoints: { tlsecho: 'src/cli/run.ts' },
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  define: { 'import.meta.url': 'import_meta_url' },
  // The first line names this build: bin/run-bundle.js uses a code cache only if it was made for the same one.
  banner: {
    js:
      `// tlsecho build ${randomUUID()}\n` +
      'const import_meta_url = require("node:url").pathToFileURL(__filename).href;',
  },
  plugins: [deferHelpLayout, importThroughLauncher],
});
// The bench worker is its own entry: src/bench/threads.ts starts it by URL next to the bundle that asks.
await build({ ...shared, entryPoints: { worker: 'src/bench/worker.ts' }, format: 'esm' });

// The code cache for the bundle, from a training run (scripts/write-code-cache.cjs). Its output is the
// training run's expected failure to connect, so it is not shown; a missing cache fails the build.
const training = spawnSync(process.execPath, [`${ROOT}/scripts/write-code-cache.cjs`], { stdio: 'ignore' });
try {
  await access(`${ROOT}/${OUT_DIR}/tlsecho.cjs.cache`);
} catch {
  throw new Error(
    `writing the code cache failed (exit ${training.status}): run scripts/write-code-cache.cjs`,
  );
}
