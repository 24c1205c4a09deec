// import() for what the command line's bundle does not contain: a user's handler module, and the ESM-only
// prompts package, loaded on demand. The bundle runs from V8's code cache (bin/run-bundle.js), and Node 20
// cannot run an import() in cached code (the callback it needs is not restored with the code), so the bundle
// build replaces this file with one that asks the launcher to import instead (scripts/bundle-cli.ts).
// Give it an absolute file URL or a package name: the launcher resolves from its own directory.

/** `import(specifier)`, in source and in the bundle alike. */
export function importModule<T>(specifier: string): Promise<T> {
  return import(specifier) as Promise<T>;
}
