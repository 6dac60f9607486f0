import { constants, verify, type KeyObject } from 'node:crypto';

/**
 * The signatures an RSA certificate can make over a callback's data, in the order they are tried.
 * Legalesign documents verifying with SHA-1 (PKCS#1 v1.5, "the same as AWS SNS"); the digest is not
 * part of its contract, so the others an RSA key signs with are accepted too, and which one verified
 * is recorded.
 */
const ALGORITHMS: readonly { name: string; digest: string; padding: number }[] = [
  { name: 'RSA-SHA1', digest: 'sha1', padding: constants.RSA_PKCS1_PADDING },
  { name: 'RSA-SHA256', digest: 'sha256', padding: constants.RSA_PKCS1_PADDING },
  { name: 'RSA-SHA384', digest: 'sha384', padding: constants.RSA_PKCS1_PADDING },
  { name: 'RSA-SHA512', digest: 'sha512', padding: constants.RSA_PKCS1_PADDING },
  { name: 'RSA-SHA224', digest: 'sha224', padding: constants.RSA_PKCS1_PADDING },
  { name: 'RSA-PSS-SHA256', digest: 'sha256', padding: constants.RSA_PKCS1_PSS_PADDING },
  { name: 'RSA-PSS-SHA512', digest: 'sha512', padding: constants.RSA_PKCS1_PSS_PADDING },
];

const BASE64 = /^[A-Za-z0-9+/\r\n]+={0,2}\s*$/;
/** A 16384-bit RSA signature is 2 KiB; anything longer is not one. */
const MAX_SIGNATURE_CHARS = 4096;

/**
 * The algorithm with which `signature` (base64) signs the UTF-8 bytes of `data` under `key`, or
 * undefined when none does.
 */
export function verifiedAlgorithm(data: string, signature: string, key: KeyObject): string | undefined {
  if (signature.length > MAX_SIGNATURE_CHARS || !BASE64.test(signature)) return undefined;
  const bytes = Buffer.from(signature, 'base64');
  if (bytes.length === 0) return undefined;
  const message = Buffer.from(data, 'utf8');
  for (const algorithm of ALGORITHMS) {
    try {
      const options =
        algorithm.padding === constants.RSA_PKCS1_PSS_PADDING
          ? { key, padding: algorithm.padding, saltLength: constants.RSA_PSS_SALTLEN_AUTO }
          : { key, padding: algorithm.padding };
      if (verify(algorithm.digest, message, options, bytes)) return algorithm.name;
    } catch {
      // A digest this build of OpenSSL refuses, or a signature of the wrong length: not this one.
    }
  }
  return undefined;
}
