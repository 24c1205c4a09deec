// The clients' defaults and choices, apart from the code that uses them: the command modules read these to
// describe their flags, and must not load the whole client (and its dependencies) to do so.

/** How long a client waits for TCP and the TLS handshake unless told otherwise. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** How long `send` waits for the whole exchange unless `--timeout` says otherwise. */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;

/** How long `connect` waits for outstanding replies after stdin has closed, unless `--linger` says otherwise. */
export const DEFAULT_LINGER_MS = 2_000;

/** How messages are written and shown: bytes as they are, or Erlang terms in External Term Format. */
export type MessageFormat = 'text' | 'etf';

export const MESSAGE_FORMATS: readonly MessageFormat[] = ['text', 'etf'];
