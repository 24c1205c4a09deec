// The one entry point to @peculiar/x509. Version 2 resolves its algorithm providers through tsyringe, which
// needs a Reflect metadata polyfill loaded first (see the library's README, "Reflect Polyfill Required"), and
// it signs with whatever WebCrypto it is given: Node's own, so keys never leave OpenSSL.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
export const subtle = webcrypto.subtle;
