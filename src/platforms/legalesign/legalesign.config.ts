import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { int, optionalString } from '../../config/config.schema';
import {
  defineConfigSection,
  present,
  type ConfigProblem,
  type SectionOf,
} from '../../config/config-section';

/** `username:secret`, as Legalesign's API key page gives it (an optional `ApiKey ` prefix is dropped). */
const apiKey = optionalString.refine(
  (v) => v === undefined || /^(ApiKey\s+)?[^:\s]+:\S+$/.test(v.trim()),
  'must be username:secret',
);
const groups = optionalString.refine(
  (v) => v === undefined || v.split(',').every((g) => /^[\w-]{1,100}$/.test(g.trim())),
  'must be group slugs separated by commas',
);

/**
 * Legalesign API v1: on when LEGALESIGN_API_KEY is set. Callbacks are checked as Legalesign allows:
 * the batched "every 6 minutes" callback by its signature (with the X509 certificate Legalesign
 * provides), the realtime and "signed" callbacks (which carry no usable signature) by a secret token in
 * the callback URL.
 */
export const legalesignConfig = defineConfigSection(
  'legalesign',
  {
    LEGALESIGN_API_KEY: apiKey,
    LEGALESIGN_BASE_URL: z
      .string()
      .default('https://eu-api.legalesign.com/api/v1')
      .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an http(s) URL'),
    /** A PEM file: the X509 certificate whose key signs the batched callback. */
    LEGALESIGN_CALLBACK_CERT: optionalString,
    /** The secret in the realtime and "signed" callback URLs (`/callbacks/legalesign?token=...`). */
    LEGALESIGN_CALLBACK_TOKEN: optionalString.refine(
      (v) => v === undefined || v.length >= 16,
      'must be at least 16 characters',
    ),
    LEGALESIGN_CALLBACK_AUTH: z.enum(['none']).optional(),
    /** Groups (teams) reconciliation lists; default: every group the key can see. */
    LEGALESIGN_GROUPS: groups,
    /** After the proof: `delete` permanently (the group must allow automated deletion), or `void` (archive it there). */
    LEGALESIGN_DELETE_MODE: z.enum(['delete', 'void']).default('delete'),
    /** The most changes one batched callback may carry; a larger one is refused (413) and writes nothing. */
    LEGALESIGN_CALLBACK_MAX_CHANGES: int(20_000, 1, 200_000),
    LEGALESIGN_CONNECT_TIMEOUT_MS: int(5000, 100, 120_000),
    LEGALESIGN_RESPONSE_TIMEOUT_MS: int(30_000, 100, 600_000),
    LEGALESIGN_IDLE_TIMEOUT_MS: int(30_000, 100, 600_000),
    LEGALESIGN_MAX_RETRIES: int(3, 0, 10),
    /** API calls the account may make per minute, shared by every worker (0: no limit). */
    LEGALESIGN_CALLS_PER_MINUTE: int(0, 0, 1_000_000),
  },
  (env) => {
    const problems: ConfigProblem[] = [];
    if (present(env.LEGALESIGN_CALLBACK_CERT)) {
      const problem = certificateProblem(env.LEGALESIGN_CALLBACK_CERT!);
      if (problem) problems.push({ key: 'LEGALESIGN_CALLBACK_CERT', message: problem });
    }
    if (!present(env.LEGALESIGN_API_KEY) || env.LEGALESIGN_CALLBACK_AUTH === 'none') return problems;
    if (!present(env.LEGALESIGN_CALLBACK_CERT)) {
      problems.push({
        key: 'LEGALESIGN_CALLBACK_CERT',
        message:
          "set LEGALESIGN_CALLBACK_CERT to Legalesign's callback certificate (a PEM file), or LEGALESIGN_CALLBACK_AUTH=none on purpose",
      });
    }
    if (!present(env.LEGALESIGN_CALLBACK_TOKEN)) {
      problems.push({
        key: 'LEGALESIGN_CALLBACK_TOKEN',
        message:
          'set LEGALESIGN_CALLBACK_TOKEN, the secret in the realtime callback URL (or LEGALESIGN_CALLBACK_AUTH=none on purpose)',
      });
    }
    return problems;
  },
);

export type LegalesignConfig = SectionOf<typeof legalesignConfig>;

/** Why a certificate file cannot verify callbacks, or undefined when it can. Nothing of it is echoed. */
function certificateProblem(path: string): string | undefined {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch {
    return 'the file cannot be read';
  }
  try {
    const certificate = new X509Certificate(pem);
    if (certificate.publicKey.asymmetricKeyType !== 'rsa') return 'the certificate must hold an RSA key';
  } catch {
    return 'the file is not a PEM X509 certificate';
  }
  return undefined;
}

/** The instance the section turns on, in the client's and guard's terms. */
export interface LegalesignInstance {
  name: 'legalesign';
  displayName: string;
  baseUrl: string;
  /** `ApiKey username:secret`, the Authorization header's value. */
  authorization: string;
  groups: string[];
  callbackAuth: { kind: 'verify'; certificate: X509Certificate; token: string } | { kind: 'none' };
  deleteMode: 'delete' | 'void';
  maxChanges: number;
}

export function legalesignInstance(config: LegalesignConfig): LegalesignInstance | undefined {
  if (!config.LEGALESIGN_API_KEY) return undefined;
  const key = config.LEGALESIGN_API_KEY.trim().replace(/^ApiKey\s+/, '');
  return {
    name: 'legalesign',
    displayName: 'Legalesign',
    baseUrl: config.LEGALESIGN_BASE_URL,
    authorization: `ApiKey ${key}`,
    groups: (config.LEGALESIGN_GROUPS ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter((g) => g !== ''),
    callbackAuth:
      config.LEGALESIGN_CALLBACK_AUTH === 'none'
        ? { kind: 'none' }
        : {
            kind: 'verify',
            certificate: new X509Certificate(readFileSync(config.LEGALESIGN_CALLBACK_CERT!)),
            token: config.LEGALESIGN_CALLBACK_TOKEN!,
          },
    deleteMode: config.LEGALESIGN_DELETE_MODE,
    maxChanges: config.LEGALESIGN_CALLBACK_MAX_CHANGES,
  };
}
