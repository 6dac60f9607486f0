import type { CallBudget } from '../call-budget';
import { z } from 'zod';
import { int, optionalString, optionalUrl } from '../../config/config.schema';
import type { EsignAnywhereClientOptions } from './esignanywhere.client';
import {
  defineConfigSection,
  present,
  type ConfigProblem,
  type SectionOf,
} from '../../config/config-section';

/** eSignAnyWhere's settings: its callback authentication, API, fallback token and OAuth client. */
export const esignAnywhereConfig = defineConfigSection(
  'esignanywhere',
  {
    CALLBACK_AUTH: z.enum(['none']).optional(),
    CALLBACK_TOKEN: optionalString.refine(
      (v) => v === undefined || v.length >= 16,
      'must be at least 16 characters',
    ),
    CALLBACK_BASIC_USER: optionalString,
    CALLBACK_BASIC_PASSWORD: optionalString.refine(
      (v) => v === undefined || v.length >= 12,
      'must be at least 12 characters',
    ),
    ESAW_BASE_URL: z
      .string()
      .default('https://demo.esignanywhere.net/Api')
      .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an http(s) URL'),
    ESAW_AUTH_HEADER: z.enum(['ApiToken', 'Bearer']).default('ApiToken'),
    ESAW_API_TOKEN: optionalString,
    ESAW_CONNECT_TIMEOUT_MS: int(5000, 100, 120_000),
    ESAW_RESPONSE_TIMEOUT_MS: int(30_000, 100, 600_000),
    ESAW_IDLE_TIMEOUT_MS: int(30_000, 100, 600_000),
    ESAW_MAX_RETRIES: int(3, 0, 10),
    /** API calls the account may make per minute, shared by every worker (0: no limit). */
    ESAW_CALLS_PER_MINUTE: int(0, 0, 1_000_000),
    ESAW_OAUTH_CLIENT_ID: optionalString,
    ESAW_OAUTH_CLIENT_SECRET: optionalString,
    ESAW_OAUTH_AUTHORIZE_URL: optionalUrl,
    ESAW_OAUTH_TOKEN_URL: optionalUrl,
    ESAW_INBOX_URL: optionalUrl,
  },
  (env) => {
    const problems: ConfigProblem[] = [];
    const hasToken = present(env.CALLBACK_TOKEN);
    const hasUser = present(env.CALLBACK_BASIC_USER);
    const hasPassword = present(env.CALLBACK_BASIC_PASSWORD);
    if (hasUser !== hasPassword) {
      problems.push({
        key: hasUser ? 'CALLBACK_BASIC_PASSWORD' : 'CALLBACK_BASIC_USER',
        message: 'CALLBACK_BASIC_USER and CALLBACK_BASIC_PASSWORD must be set together',
      });
    }
    if (!hasToken && !hasUser && !hasPassword && env.CALLBACK_AUTH !== 'none') {
      problems.push({
        key: 'CALLBACK_TOKEN',
        message:
          'set CALLBACK_TOKEN or CALLBACK_BASIC_USER/CALLBACK_BASIC_PASSWORD (or CALLBACK_AUTH=none on purpose)',
      });
    }
    if (present(env.ESAW_OAUTH_CLIENT_ID) !== present(env.ESAW_OAUTH_CLIENT_SECRET)) {
      problems.push({
        key: present(env.ESAW_OAUTH_CLIENT_ID) ? 'ESAW_OAUTH_CLIENT_SECRET' : 'ESAW_OAUTH_CLIENT_ID',
        message: 'ESAW_OAUTH_CLIENT_ID and ESAW_OAUTH_CLIENT_SECRET must be set together',
      });
    }
    return problems;
  },
);

export type EsignAnywhereConfig = SectionOf<typeof esignAnywhereConfig>;

/** The client's options from the validated section. */
export function esignAnywhereClientOptions(
  config: EsignAnywhereConfig,
  budget?: CallBudget,
): EsignAnywhereClientOptions {
  return {
    ...(budget && { budget }),
    baseUrl: config.ESAW_BASE_URL,
    authHeader: config.ESAW_AUTH_HEADER,
    connectTimeoutMs: config.ESAW_CONNECT_TIMEOUT_MS,
    responseTimeoutMs: config.ESAW_RESPONSE_TIMEOUT_MS,
    idleTimeoutMs: config.ESAW_IDLE_TIMEOUT_MS,
    maxRetries: config.ESAW_MAX_RETRIES,
    oauth: {
      clientId: config.ESAW_OAUTH_CLIENT_ID,
      clientSecret: config.ESAW_OAUTH_CLIENT_SECRET,
      authorizeUrl: config.ESAW_OAUTH_AUTHORIZE_URL,
      tokenUrl: config.ESAW_OAUTH_TOKEN_URL,
    },
  };
}
