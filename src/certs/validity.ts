// How long certificates live. Kept apart from generate.ts so flag parsing need not load the X.509 library.

// Leaf certificates live 820 days (2 years 3 months, as mkcert's do). Apple platforms reject TLS server
// certificates valid for more than 825 days, counted from notBefore, so with generate.ts backdating notBefore by an
// hour the total stays under that line. See https://support.apple.com/en-us/HT210176
export const DEFAULT_LEAF_DAYS = 820;
/** The longest validity Apple platforms accept for a TLS server certificate. */
export const APPLE_MAX_SERVER_DAYS = 825;
// A local CA is installed once and should outlive many leaves; mkcert uses 10 years too.
export const DEFAULT_CA_DAYS = 3650;
/** The longest validity we issue; anything longer is almost certainly a typo (e.g. days meant as hours). */
export const MAX_DAYS = 7300;
