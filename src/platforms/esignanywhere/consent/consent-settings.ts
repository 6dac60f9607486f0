import type { ServiceConfig, TokensConfig } from '../../../config/app-config';
import type { EsignAnywhereConfig } from '../esignanywhere.config';

/** DI token for the consent settings derived once from the configuration. */
export const CONSENT_SETTINGS = Symbol('CONSENT_SETTINGS');

export const CALLBACK_PATH = '/consent/oauth/callback';

/** A started authorization is good for this long (state row and browser cookie alike). */
export const STATE_TTL_MS = 10 * 60_000;

export interface ConsentSettings {
  /** Configuration keys whose absence (or invalid value) switches the consent routes off; names only. */
  readonly missing: readonly string[];
  /** `PUBLIC_BASE_URL` + `/consent/oauth/callback`: the redirect URI registered with eSignAnyWhere. */
  readonly redirectUri: string;
  /** Where the browser goes after a sent draft: ESAW_INBOX_URL, else the instance's start page. */
  readonly inboxUrl: string;
  /** Path of the browser-binding cookie: the consent routes below PUBLIC_BASE_URL's path. */
  readonly cookiePath: string;
  /** Cookies carry `Secure` when the public URL is https. */
  readonly secureCookies: boolean;
  readonly stateTtlMs: number;
}

function httpUrl(value: string | undefined): URL | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The eSignAnyWhere web UI's start page: the API base without its `/Api` suffix. The inbox's own path
 * is not documented (NOT FOUND in the API facts), so the default is the one page every instance
 * serves, which leads a signed-in user to the dashboard; set ESAW_INBOX_URL for a deeper link.
 */
export function defaultInboxUrl(esawBaseUrl: string): string {
  const base = new URL(esawBaseUrl);
  const root = base.pathname.replace(/\/+$/, '').replace(/\/api$/i, '');
  return `${base.origin}${root}/`;
}

export function consentSettingsFromConfig(
  config: Pick<
    EsignAnywhereConfig & ServiceConfig & TokensConfig,
    | 'PUBLIC_BASE_URL'
    | 'ESAW_BASE_URL'
    | 'ESAW_INBOX_URL'
    | 'ESAW_OAUTH_CLIENT_ID'
    | 'ESAW_OAUTH_CLIENT_SECRET'
    | 'TOKEN_ENCRYPTION_KEYS'
  >,
): ConsentSettings {
  const missing: string[] = [];
  if (config.TOKEN_ENCRYPTION_KEYS.length === 0) missing.push('TOKEN_ENCRYPTION_KEYS');
  if (!config.ESAW_OAUTH_CLIENT_ID) missing.push('ESAW_OAUTH_CLIENT_ID');
  if (!config.ESAW_OAUTH_CLIENT_SECRET) missing.push('ESAW_OAUTH_CLIENT_SECRET');

  const publicUrl = httpUrl(config.PUBLIC_BASE_URL);
  if (!publicUrl || publicUrl.search || publicUrl.hash || publicUrl.username || publicUrl.password) {
    missing.push('PUBLIC_BASE_URL');
  }
  const basePath = publicUrl ? publicUrl.pathname.replace(/\/+$/, '') : '';

  // Only ever an http(s) URL from the configuration: never a `javascript:` or other scheme, never the request.
  const inbox = httpUrl(config.ESAW_INBOX_URL ?? defaultInboxUrl(config.ESAW_BASE_URL));
  if (!inbox) missing.push('ESAW_INBOX_URL');

  return Object.freeze({
    missing: Object.freeze(missing),
    redirectUri: publicUrl ? `${publicUrl.origin}${basePath}${CALLBACK_PATH}` : '',
    inboxUrl: inbox?.href ?? '',
    cookiePath: `${basePath}/consent`,
    secureCookies: publicUrl?.protocol === 'https:',
    stateTtlMs: STATE_TTL_MS,
  });
}
