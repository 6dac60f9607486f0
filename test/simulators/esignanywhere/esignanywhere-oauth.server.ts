import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SimOAuthClient, SimOAuthDecision, SimUser } from './esignanywhere-simulator.types';

// eSignAnyWhere as OAuth 2.0 identity provider for the code grant ("Retrieving the User API Token via
// OAuth"): GET /Auth/Authorize shows sign-in and consent, POST /ApiToken/Retrieve exchanges the code for
// the user's API token. Exact redirect_uri allowlist, single-use short-lived codes bound to client,
// redirect_uri and PKCE challenge (RFC 6749, RFC 7636).

export interface OAuthHost {
  users(): SimUser[];
  /** The user's API token for this OAuth application, created when missing or revoked. */
  apiTokenFor(userId: string, clientId: string): string;
}

export interface OAuthHttpResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface PendingAuthorization {
  clientId: string;
  redirectUri: string;
  state?: string;
  codeChallenge?: string;
  expiresAt: number;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  userId: string;
  codeChallenge?: string;
  expiresAt: number;
  used: boolean;
}

const PAGE_TTL_MS = 10 * 60_000;

function html(status: number, body: string): OAuthHttpResult {
  return {
    status,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
    },
    body,
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function redirect(location: string): OAuthHttpResult {
  return { status: 302, headers: { Location: location, 'Cache-Control': 'no-store' }, body: '' };
}

function tokenJson(status: number, body: unknown, extra: Record<string, string> = {}): OAuthHttpResult {
  return {
    status,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
      ...extra,
    },
    body: JSON.stringify(body),
  };
}

function sameSecret(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}

export class OAuthServer {
  private readonly clients = new Map<string, SimOAuthClient>();
  private readonly pending = new Map<string, PendingAuthorization>();
  private readonly codes = new Map<string, IssuedCode>();
  decision: SimOAuthDecision | null;

  constructor(
    private readonly host: OAuthHost,
    private readonly options: { codeTtlMs: number; requirePkce: boolean; decision: SimOAuthDecision | null },
  ) {
    this.decision = options.decision;
  }

  registerClient(client: SimOAuthClient): void {
    if (!client.clientId || !client.clientSecret || client.redirectUris.length === 0) {
      throw new Error('an OAuth client needs a client id, a secret and at least one redirect URI');
    }
    this.clients.set(client.clientId, { ...client, redirectUris: [...client.redirectUris] });
  }

  clear(): void {
    this.pending.clear();
    this.codes.clear();
  }

  /** GET /Auth/Authorize */
  authorize(query: URLSearchParams): OAuthHttpResult {
    const clientId = query.get('client_id') ?? '';
    const redirectUri = query.get('redirect_uri') ?? '';
    const client = this.clients.get(clientId);
    // Never redirect to an unverified URI: errors about the client or redirect_uri are shown, not sent.
    if (!client) return html(400, this.errorPage('Unknown OAuth application (client_id).'));
    if (!client.redirectUris.includes(redirectUri)) {
      return html(400, this.errorPage('The redirect_uri is not on the application allowlist.'));
    }
    const state = query.get('state') ?? undefined;
    const back = (params: Record<string, string>): OAuthHttpResult => {
      const url = new URL(redirectUri);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      if (state !== undefined) url.searchParams.set('state', state);
      return redirect(url.href);
    };
    if (query.get('response_type') !== 'code') return back({ error: 'unsupported_response_type' });
    const codeChallenge = query.get('code_challenge') ?? undefined;
    const method = query.get('code_challenge_method') ?? (codeChallenge ? 'plain' : undefined);
    if (codeChallenge !== undefined || this.options.requirePkce) {
      if (codeChallenge === undefined) {
        return back({ error: 'invalid_request', error_description: 'code_challenge required' });
      }
      if (method !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) {
        return back({
          error: 'invalid_request',
          error_description: 'only S256 code challenges are accepted',
        });
      }
    }
    const request: PendingAuthorization = {
      clientId,
      redirectUri,
      ...(state !== undefined && { state }),
      ...(codeChallenge !== undefined && { codeChallenge }),
      expiresAt: Date.now() + PAGE_TTL_MS,
    };

    if (this.decision) {
      const userId = this.decision.userId ?? this.onlyUserId();
      if (this.decision.decision === 'deny') return this.decide(request, 'deny');
      if (!userId) return html(400, this.errorPage('Automatic approval needs a user to sign in as.'));
      return this.decide(request, 'approve', userId);
    }

    const transaction = randomBytes(24).toString('base64url');
    this.pending.set(transaction, request);
    return html(200, this.consentPage(client, transaction));
  }

  /** POST /Auth/Authorize (the consent form). */
  submitConsent(form: URLSearchParams): OAuthHttpResult {
    const transaction = form.get('tx') ?? '';
    const request = this.pending.get(transaction);
    this.pending.delete(transaction);
    if (!request || request.expiresAt < Date.now()) {
      return html(400, this.errorPage('This sign-in page has expired. Start again from the application.'));
    }
    const decision = form.get('decision');
    if (decision === 'deny') return this.decide(request, 'deny');
    if (decision !== 'approve') return html(400, this.errorPage('Choose Approve or Deny.'));
    const userId = form.get('userId') ?? '';
    if (!this.host.users().some((u) => u.id === userId)) {
      return html(400, this.errorPage('Choose a user to sign in as.'));
    }
    return this.decide(request, 'approve', userId);
  }

  /** POST /ApiToken/Retrieve (form-encoded). */
  token(form: URLSearchParams, authorization: string | undefined): OAuthHttpResult {
    let clientId = form.get('client_id') ?? undefined;
    let clientSecret = form.get('client_secret') ?? undefined;
    let usedBasic = false;
    if (authorization && /^basic /i.test(authorization)) {
      const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
      const sep = decoded.indexOf(':');
      if (sep > 0) {
        usedBasic = true;
        clientId = decodeURIComponent(decoded.slice(0, sep));
        clientSecret = decodeURIComponent(decoded.slice(sep + 1));
      }
    }
    const client = clientId ? this.clients.get(clientId) : undefined;
    if (!client || clientSecret === undefined || !sameSecret(clientSecret, client.clientSecret)) {
      return tokenJson(
        401,
        { error: 'invalid_client', error_description: 'client authentication failed' },
        usedBasic ? { 'WWW-Authenticate': 'Basic realm="eSignAnyWhere"' } : {},
      );
    }
    if (form.get('grant_type') !== 'authorization_code') {
      return tokenJson(400, { error: 'unsupported_grant_type' });
    }
    const codeValue = form.get('code');
    const redirectUri = form.get('redirect_uri');
    if (!codeValue || !redirectUri) {
      return tokenJson(400, {
        error: 'invalid_request',
        error_description: 'code and redirect_uri are required',
      });
    }
    const code = this.codes.get(codeValue);
    // Any presentation uses the code up, so a wrong verifier cannot be followed by a right guess.
    if (code) this.codes.delete(codeValue);
    if (!code || code.used || code.expiresAt < Date.now() || code.clientId !== client.clientId) {
      return tokenJson(400, {
        error: 'invalid_grant',
        error_description: 'the code is invalid, expired or used',
      });
    }
    code.used = true;
    if (code.redirectUri !== redirectUri) {
      return tokenJson(400, { error: 'invalid_grant', error_description: 'redirect_uri does not match' });
    }
    if (code.codeChallenge !== undefined) {
      const verifier = form.get('code_verifier') ?? '';
      const valid =
        /^[A-Za-z0-9\-._~]{43,128}$/.test(verifier) &&
        createHash('sha256').update(verifier, 'ascii').digest('base64url') === code.codeChallenge;
      if (!valid)
        return tokenJson(400, { error: 'invalid_grant', error_description: 'code_verifier mismatch' });
    }
    const accessToken = this.host.apiTokenFor(code.userId, client.clientId);
    return tokenJson(200, { access_token: accessToken, token_type: 'Bearer' });
  }

  private decide(
    request: PendingAuthorization,
    decision: 'approve' | 'deny',
    userId?: string,
  ): OAuthHttpResult {
    const url = new URL(request.redirectUri);
    if (decision === 'deny' || !userId) {
      url.searchParams.set('error', 'access_denied');
    } else {
      const code = randomBytes(32).toString('base64url');
      this.codes.set(code, {
        clientId: request.clientId,
        redirectUri: request.redirectUri,
        userId,
        ...(request.codeChallenge !== undefined && { codeChallenge: request.codeChallenge }),
        expiresAt: Date.now() + this.options.codeTtlMs,
        used: false,
      });
      url.searchParams.set('code', code);
    }
    if (request.state !== undefined) url.searchParams.set('state', request.state);
    return redirect(url.href);
  }

  private onlyUserId(): string | undefined {
    const users = this.host.users();
    return users.length === 1 ? users[0].id : undefined;
  }

  private errorPage(message: string): string {
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>eSignAnyWhere</title></head><body><h1>Authorization error</h1><p id="error">${escapeHtml(message)}</p></body></html>`;
  }

  private consentPage(client: SimOAuthClient, transaction: string): string {
    const options = this.host
      .users()
      .map(
        (u) =>
          `<option value="${escapeHtml(u.id)}">${escapeHtml(`${u.givenName} ${u.surname} <${u.email}>`)}</option>`,
      )
      .join('');
    const name = escapeHtml(client.name ?? client.clientId);
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>eSignAnyWhere - Authorize ${name}</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto}button{margin-right:1rem}</style></head>
<body>
<h1>Sign in to eSignAnyWhere</h1>
<form method="post" action="/Auth/Authorize">
<input type="hidden" name="tx" value="${escapeHtml(transaction)}">
<p><label for="userId">Signed in as</label>
<select id="userId" name="userId">${options}</select></p>
<p><strong>${name}</strong> wants to access eSignAnyWhere on your behalf: read, download and delete your envelopes.</p>
<button type="submit" id="approve" name="decision" value="approve">Approve</button>
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
</form>
</body></html>`;
  }
}
