import { webcrypto, type KeyObject } from 'node:crypto';
import { FileError } from '../errors.js';

/** The key types `gencert --key-type` offers. ECDSA P-256 is the default: small, fast, accepted everywhere. */
export const KEY_TYPES = ['ec-p256', 'ec-p384', 'ed25519', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type KeyType = (typeof KEY_TYPES)[number];
export const DEFAULT_KEY_TYPE: KeyType = 'ec-p256';

const subtle = webcrypto.subtle;

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

/** What WebCrypto needs to create or import a key of one type, and how that key signs certificates. */
interface KeyAlgorithm {
  generate: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams | webcrypto.Algorithm;
  sign: webcrypto.Algorithm | webcrypto.EcdsaParams;
}

// 65537, the only public exponent anyone should use (RFC 8017 notes small exponents' risks).
const RSA_PUBLIC_EXPONENT = new Uint8Array([0x01, 0x00, 0x01]);

function rsa(modulusLength: number): KeyAlgorithm {
  const params = { name: 'RSASSA-PKCS1-v1_5', modulusLength, publicExponent: RSA_PUBLIC_EXPONENT, hash: 'SHA-256' };
  return { generate: params, sign: params };
}

function ecdsa(namedCurve: 'P-256' | 'P-384' | 'P-521', hash: 'SHA-256' | 'SHA-384' | 'SHA-512'): KeyAlgorithm {
  // The hash follows the curve's strength (RFC 5480 section 4), as openssl and Go do.
  return { generate: { name: 'ECDSA', namedCurve }, sign: { name: 'ECDSA', hash } as webcrypto.EcdsaParams };
}

const ALGORITHMS: Record<KeyType, KeyAlgorithm> = {
  'ec-p256': ecdsa('P-256', 'SHA-256'),
  'ec-p384': ecdsa('P-384', 'SHA-384'),
  ed25519: { generate: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
  'rsa-2048': rsa(2048),
  'rsa-3072': rsa(3072),
  'rsa-4096': rsa(4096),
};

export function isKeyType(value: string): value is KeyType {
  return (KEY_TYPES as readonly string[]).includes(value);
}

/** True for RSA key types, whose TLS leaf certificates also need the keyEncipherment usage. */
export function isRsaKeyType(keyType: KeyType): boolean {
  return keyType.startsWith('rsa-');
}

/** A new extractable key pair. RSA-4096 takes a second or more; the rest are milliseconds. */
export async function generateKeyPair(keyType: KeyType): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(ALGORITHMS[keyType].generate, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** The algorithm a key of this type signs certificates with. */
export function signingAlgorithmFor(keyType: KeyType): webcrypto.Algorithm {
  return ALGORITHMS[keyType].sign;
}

/** A private key as PKCS#8 PEM, the form openssl, Node and Go all read. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN PRIVATE KEY-----\n${body}-----END PRIVATE KEY-----\n`;
}

const CURVE_KEY_TYPES: Record<string, KeyType> = { prime256v1: 'ec-p256', secp384r1: 'ec-p384' };

/**
 * Which of our key types a loaded private key is, so an existing CA key signs with the right algorithm.
 * RSA keys of other sizes sign like rsa-2048 (SHA-256); only the modulus differs.
 */
function keyTypeOf(key: KeyObject, source: string): KeyType {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'ed25519';
    case 'rsa': {
      const keyType = `rsa-${details.modulusLength ?? 0}`;
      return isKeyType(keyType) ? keyType : 'rsa-2048';
    }
    case 'ec': {
      const keyType = CURVE_KEY_TYPES[details.namedCurve ?? ''];
      if (keyType) return keyType;
      throw new FileError(`${source}: unsupported elliptic curve ${details.namedCurve ?? 'unknown'}`, {
        hint: 'use a P-256 or P-384 key',
      });
    }
    default:
      throw new FileError(`${source}: unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`, {
        hint: 'use an ECDSA (P-256, P-384), Ed25519 or RSA key',
      });
  }
}

/**
 * Imports a private key (already parsed by Node, from PKCS#8, PKCS#1 or SEC1 PEM) into WebCrypto for signing.
 * `source` names the file in error messages.
 */
export async function importSigningKey(
  keyObject: KeyObject,
  source: string,
): Promise<{ key: CryptoKey; keyType: KeyType }> {
  const keyType = keyTypeOf(keyObject, source);
  const pkcs8 = keyObject.export({ format: 'der', type: 'pkcs8' });
  const key = await subtle.importKey('pkcs8', pkcs8, ALGORITHMS[keyType].generate, false, ['sign']);
  return { key, keyType };
}
