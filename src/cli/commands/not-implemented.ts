import { UsageError } from '../../errors.js';

/** Until a command lands, it says so plainly instead of pretending. */
export function notImplemented(command: string): never {
  throw new UsageError(`'tlsecho ${command}' is not implemented yet`);
}
