import { createHash, X509Certificate } from 'node:crypto';
import { UsageError } from '../errors.js';

const PIN_PREFIX = 'sha256:';
const HEX_64 = /^[0-9a-f]{64}$/;

/**
 * The SHA-256 fingerprint of a certificate's DER bytes as `sha256:<64 lowercase hex>`: the one form that
 * `gencert` and `serve` print and `connect --pin` accepts. Same digest as `openssl x509 -fingerprint -sha256`.
 */
export function fingerprintOfDer(der: Uint8Array): string {
  return PIN_PREFIX + createHash('sha256').update(der).digest('hex');
}

/** Fingerprint of a PEM certificate (the first one in the text). */
export function fingerprintOfPem(pem: string | Buffer): string {
  return fingerprintOfDer(new X509Certificate(pem).raw);
}

/**
 * Normalises a pin as people paste it: `sha256:ab12…`, `SHA256:AB:12:…` (openssl's form), or bare hex.
 */
export function parsePin(text: string): string {
  const trimmed = text.trim();
  const withoutPrefix = trimmed.replace(/^sha-?256[:=]/i, '');
  const hex = withoutPrefix.replace(/:/g, '').toLowerCase();
  if (!HEX_64.test(hex)) {
    throw new UsageError(`invalid pin '${text}': expected sha256: followed by 64 hex digits`, {
      hint: 'copy the fingerprint that tlsecho serve or tlsecho gencert printed',
    });
  }
  return PIN_PREFIX + hex;
}
