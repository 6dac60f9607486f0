import { z } from 'zod';
import { bool, int, optionalString, optionalUrl } from '../../config/config.schema';
import {
  defineConfigSection,
  present,
  type ConfigProblem,
  type SectionOf,
} from '../../config/config-section';

const secret = (min: number) =>
  optionalString.refine((v) => v === undefined || v.length >= min, `must be at least ${min} characters`);

/**
 * OneSpan Sign and Conga Sign (OneSpan's platform under Conga's name): one plugin, two instances, each on
 * when its base URL is set. OneSpan takes an account API key or OAuth 2.0 client credentials; Conga's
 * gateway takes Conga's own client-credentials token (older white-labelled Conga hosts an API key on
 * OneSpan's paths).
 */
export const oneSpanConfig = defineConfigSection(
  'onespan',
  {
    ONESPAN_BASE_URL: optionalUrl,
    ONESPAN_API_KEY: optionalString,
    ONESPAN_CLIENT_ID: optionalString,
    ONESPAN_CLIENT_SECRET: optionalString,
    /** Default: `<origin of ONESPAN_BASE_URL>/oauth2/token`. */
    ONESPAN_TOKEN_URL: optionalUrl,
    ONESPAN_CALLBACK_KEY: secret(16),
    ONESPAN_CALLBACK_AUTH: z.enum(['none']).optional(),

    CONGA_BASE_URL: optionalUrl,
    /** `gateway`: `/v1/cs-packages/...` under the base; `onespan`: OneSpan's `/packages/...` (white-labelled hosts). */
    CONGA_PATH_STYLE: z.enum(['gateway', 'onespan']).optional(),
    CONGA_API_KEY: optionalString,
    CONGA_CLIENT_ID: optionalString,
    CONGA_CLIENT_SECRET: optionalString,
    CONGA_TOKEN_URL: optionalUrl,
    CONGA_CALLBACK_USER: optionalString,
    CONGA_CALLBACK_PASSWORD: secret(12),
    CONGA_CALLBACK_TOKEN: secret(16),
    CONGA_CALLBACK_AUTH: z.enum(['none']).optional(),

    /** After the proof: `delete` the package, or move it to the `trash`. */
    ONESPAN_DELETE_MODE: z.enum(['delete', 'trash']).default('delete'),
    /** Archive the audit JSON beside the evidence summary (some instances do not offer it). */
    ONESPAN_AUDIT_JSON: bool(true),
    /** Archive the electronic-disclosure consent (`default-consent`) as a legal document. */
    ONESPAN_CONSENT_DOCUMENT: bool(true),
    ONESPAN_CONNECT_TIMEOUT_MS: int(5000, 100, 120_000),
    ONESPAN_RESPONSE_TIMEOUT_MS: int(30_000, 100, 600_000),
    ONESPAN_IDLE_TIMEOUT_MS: int(30_000, 100, 600_000),
    ONESPAN_MAX_RETRIES: int(3, 0, 10),
    /** API calls each account may make per minute, shared by every worker (0: no limit). */
    ONESPAN_CALLS_PER_MINUTE: int(0, 0, 1_000_000),
    CONGA_CALLS_PER_MINUTE: int(0, 0, 1_000_000),
  },
  (env) => {
    const problems: ConfigProblem[] = [];
    const pair = (a: string, b: string) => {
      if (present(env[a]) !== present(env[b])) {
        problems.push({ key: present(env[a]) ? b : a, message: `${a} and ${b} must be set together` });
      }
    };
    pair('ONESPAN_CLIENT_ID', 'ONESPAN_CLIENT_SECRET');
    pair('CONGA_CLIENT_ID', 'CONGA_CLIENT_SECRET');
    pair('CONGA_CALLBACK_USER', 'CONGA_CALLBACK_PASSWORD');
    if (present(env.ONESPAN_BASE_URL)) {
      const key = present(env.ONESPAN_API_KEY);
      const oauth = present(env.ONESPAN_CLIENT_ID);
      if (key === oauth) {
        problems.push({
          key: 'ONESPAN_API_KEY',
          message:
            'set either ONESPAN_API_KEY or ONESPAN_CLIENT_ID/ONESPAN_CLIENT_SECRET (an account uses one method)',
        });
      }
      if (!present(env.ONESPAN_CALLBACK_KEY) && env.ONESPAN_CALLBACK_AUTH !== 'none') {
        problems.push({
          key: 'ONESPAN_CALLBACK_KEY',
          message: 'set ONESPAN_CALLBACK_KEY (or ONESPAN_CALLBACK_AUTH=none on purpose)',
        });
      }
    }
    if (present(env.CONGA_BASE_URL)) {
      const key = present(env.CONGA_API_KEY);
      const oauth = present(env.CONGA_CLIENT_ID);
      if (key === oauth) {
        problems.push({
          key: 'CONGA_API_KEY',
          message: 'set either CONGA_CLIENT_ID/CONGA_CLIENT_SECRET (with CONGA_TOKEN_URL) or CONGA_API_KEY',
        });
      }
      if (oauth && !present(env.CONGA_TOKEN_URL)) {
        problems.push({
          key: 'CONGA_TOKEN_URL',
          message: "required with CONGA_CLIENT_ID: Conga's token endpoint",
        });
      }
      const callbackAuth = present(env.CONGA_CALLBACK_USER) || present(env.CONGA_CALLBACK_TOKEN);
      if (!callbackAuth && env.CONGA_CALLBACK_AUTH !== 'none') {
        problems.push({
          key: 'CONGA_CALLBACK_TOKEN',
          message:
            'set CONGA_CALLBACK_USER/CONGA_CALLBACK_PASSWORD or CONGA_CALLBACK_TOKEN (or CONGA_CALLBACK_AUTH=none on purpose)',
        });
      }
    }
    return problems;
  },
);

export type OneSpanConfig = SectionOf<typeof oneSpanConfig>;

/** One configured instance of the kind, in the client's and guard's terms. */
export interface OneSpanInstance {
  /** `onespan` or `conga`: the `platform` column, the callback route. */
  name: 'onespan' | 'conga';
  displayName: string;
  /** The API base, e.g. `https://sandbox.esignlive.com/api` or `https://rls.congacloud.com/api/sign`. */
  baseUrl: string;
  /** Path of the packages resource under the base. */
  packagesPath: 'packages' | 'v1/cs-packages';
  credential:
    | { kind: 'api_key'; apiKey: string }
    | {
        kind: 'client_credentials';
        tokenUrl: string;
        clientId: string;
        clientSecret: string;
        scope?: string;
      };
  /** API calls per minute for the account (0: no limit). */
  callsPerMinute: number;
  callbackAuth:
    | { kind: 'key'; key: string }
    | { kind: 'basic'; user: string; password: string }
    | { kind: 'bearer'; token: string }
    | { kind: 'none' };
}

/** The instances the section turns on. */
export function oneSpanInstances(config: OneSpanConfig): OneSpanInstance[] {
  const out: OneSpanInstance[] = [];
  if (config.ONESPAN_BASE_URL) {
    const base = config.ONESPAN_BASE_URL;
    out.push({
      name: 'onespan',
      displayName: 'OneSpan Sign',
      baseUrl: base,
      packagesPath: 'packages',
      callsPerMinute: config.ONESPAN_CALLS_PER_MINUTE,
      credential: config.ONESPAN_API_KEY
        ? { kind: 'api_key', apiKey: config.ONESPAN_API_KEY }
        : {
            kind: 'client_credentials',
            tokenUrl: config.ONESPAN_TOKEN_URL ?? `${new URL(base).origin}/oauth2/token`,
            clientId: config.ONESPAN_CLIENT_ID!,
            clientSecret: config.ONESPAN_CLIENT_SECRET!,
          },
      callbackAuth: config.ONESPAN_CALLBACK_KEY
        ? { kind: 'key', key: config.ONESPAN_CALLBACK_KEY }
        : { kind: 'none' },
    });
  }
  if (config.CONGA_BASE_URL) {
    const style = config.CONGA_PATH_STYLE ?? (config.CONGA_API_KEY ? 'onespan' : 'gateway');
    out.push({
      name: 'conga',
      displayName: 'Conga Sign',
      baseUrl: config.CONGA_BASE_URL,
      packagesPath: style === 'gateway' ? 'v1/cs-packages' : 'packages',
      callsPerMinute: config.CONGA_CALLS_PER_MINUTE,
      credential: config.CONGA_API_KEY
        ? { kind: 'api_key', apiKey: config.CONGA_API_KEY }
        : {
            kind: 'client_credentials',
            tokenUrl: config.CONGA_TOKEN_URL!,
            clientId: config.CONGA_CLIENT_ID!,
            clientSecret: config.CONGA_CLIENT_SECRET!,
            scope: 'sign',
          },
      callbackAuth: config.CONGA_CALLBACK_TOKEN
        ? { kind: 'bearer', token: config.CONGA_CALLBACK_TOKEN }
        : config.CONGA_CALLBACK_USER
          ? { kind: 'basic', user: config.CONGA_CALLBACK_USER, password: config.CONGA_CALLBACK_PASSWORD! }
          : { kind: 'none' },
    });
  }
  return out;
}
