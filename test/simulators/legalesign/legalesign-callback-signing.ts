import { sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LsDigest } from './legalesign-simulator.types';

// The key pair is committed beside the sources; compiled tests run from dist*/test/..., so look beside
// this file first and then in the source tree four levels up.
const FIXTURE_DIRS = [
  join(__dirname, 'fixtures'),
  resolve(__dirname, '../../../../test/simulators/legalesign/fixtures'),
];

export const LEGALESIGN_FIXTURES_DIR =
  FIXTURE_DIRS.find((dir) => existsSync(join(dir, 'callback-signing.key.pem'))) ?? FIXTURE_DIRS[1];
/** RSA 2048 private key that signs the simulator's callbacks (test only). */
export const CALLBACK_SIGNING_KEY_PATH = join(LEGALESIGN_FIXTURES_DIR, 'callback-signing.key.pem');
/** Self-signed X509 certificate of that key, the counterpart of Legalesign's published certificate. */
export const CALLBACK_SIGNING_CERT_PATH = join(LEGALESIGN_FIXTURES_DIR, 'callback-signing.cert.pem');

let testKey: string | undefined;

export function testSigningKeyPem(): string {
  testKey ??= readFileSync(CALLBACK_SIGNING_KEY_PATH, 'utf8');
  return testKey;
}

export function testSigningCertPem(): string {
  return readFileSync(CALLBACK_SIGNING_CERT_PATH, 'utf8');
}

/** Base64 RSA PKCS#1 v1.5 signature over the UTF-8 bytes of `data`, as Legalesign signs callbacks. */
export function signCallbackData(data: string, digest: LsDigest, keyPem: string): string {
  return sign(digest, Buffer.from(data, 'utf8'), keyPem).toString('base64');
}

/** The same signature made with the committed test key. */
export function signWithTestKey(data: string, digest: LsDigest = 'sha1'): string {
  return signCallbackData(data, digest, testSigningKeyPem());
}

/**
 * JSON as Python's `json.dumps` writes it (`", "` and `": "` separators, non-ASCII escaped): the platform
 * is a Django application, and a receiver must verify the bytes it got, never its own re-serialisation.
 */
export function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${pythonJson(k)}: ${pythonJson(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
