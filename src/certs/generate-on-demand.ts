// The library's certificate generators. @peculiar/x509 (with its tsyringe and reflect-metadata) is most of
// what `import('tlsecho')` would otherwise load, and most users of the library never make a certificate, so
// `generate.ts` is imported on the first call instead of with the package. The server makes its ephemeral
// certificate through here too: the X.509 library costs ~150 ms at start-up, and most runs have a certificate.
import type {
  CaOptions,
  GeneratedCertificate,
  IssueOptions,
  SelfSignedOptions,
} from './generate.js';

const generator = () => import('./generate.js');

/** A self-signed server certificate for `options.hosts` (default localhost, 127.0.0.1, ::1). */
export async function generateSelfSigned(options?: SelfSignedOptions): Promise<GeneratedCertificate> {
  return (await generator()).generateSelfSigned(options);
}

/** A short-lived self-signed certificate for a server started without one. */
export async function generateEphemeralServerCert(): Promise<GeneratedCertificate> {
  return (await generator()).generateEphemeralServerCert();
}

/** A local certificate authority that can issue server and client certificates. */
export async function generateCa(options?: CaOptions): Promise<GeneratedCertificate> {
  return (await generator()).generateCa(options);
}

/** A server or client certificate signed by `options.issuer`. */
export async function issueCertificate(options: IssueOptions): Promise<GeneratedCertificate> {
  return (await generator()).issueCertificate(options);
}
