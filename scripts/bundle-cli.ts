// npm run build, second step: bundles the command line into dist/bin/ so that starting `tlsecho` reads about
// 20 files instead of about 120 (62 of our modules and 60 of yargs and its helpers). On Node 20, which has no
// module compile cache, resolving, reading and compiling each ESM file is a large part of a one-shot `send`.
//
// Each command's implementation stays in its own chunk, loaded by the dynamic import in its handler, so
// `send` never parses gencert's code. Packages that only some runs need (ora on a terminal, the prompts, the
// X.509 builder, the latency histogram) stay external and load from node_modules when a run uses them.
import { build, type Plugin } from 'esbuild';
import { rm } from 'node:fs/promises';
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

// Chunk names carry a content hash: stale chunks from an earlier build would otherwise pile up.
await rm(`${ROOT}/${OUT_DIR}`, { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  // The bench worker is its own entry: src/bench/threads.ts starts it by URL next to the chunk that asks.
  entryPoints: { tlsecho: 'src/cli/run.ts', worker: 'src/bench/worker.ts' },
  outdir: OUT_DIR,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  external: ['ora', '@inquirer/prompts', '@peculiar/x509', 'reflect-metadata', 'hdr-histogram-js'],
  plugins: [deferHelpLayout],
  sourcemap: 'linked',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
