// The certificate toolkit as a library: generation, loading and inspection, and safe writing of key files.
export { APPLE_MAX_SERVER_DAYS, DEFAULT_CA_DAYS, DEFAULT_LEAF_DAYS, MAX_DAYS } from './validity.js';
export type { CaOptions, GeneratedCertificate, IssueOptions, IssuerPem, SelfSignedOptions } from './generate.js';
export {
  generateCa,
  generateEphemeralServerCert,
  generateSelfSigned,
  issueCertificate,
} from './generate-on-demand.js';
export { DEFAULT_HOSTS, listHosts, sortHosts, type SubjectAltNames } from './hosts.js';
export { DEFAULT_KEY_TYPE, KEY_TYPES, isKeyType, type KeyType } from './key-types.js';
export {
  describeCertificate,
  fingerprintOf,
  formatCertificate,
  keyMatchesCertificate,
  loadCertificate,
  loadCertificateBundle,
  loadPrivateKey,
  parsePin,
  type CertificateDescription,
  type LoadedCertificate,
  type LoadedPrivateKey,
} from './inspect.js';
export {
  CERT_FILE_MODE,
  KEY_FILE_MODE,
  checkTargets,
  writeCertificateSet,
  writeFileAtomic,
  type OutputFile,
  type WriteSetOptions,
} from './files.js';
