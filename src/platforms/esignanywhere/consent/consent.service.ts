import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ESIGNANYWHERE } from '../esignanywhere-callback.parser';
import { EsignAnywhereClient } from '../esignanywhere.client';
import { createPkceVerifier, pkceChallengeS256 } from '../esignanywhere.pkce';
import type { EsawIdentity } from '../esignanywhere.types';
import { PlatformError } from '../../platform-error';
import { SenderGrantService } from '../../../senders/sender-grant.service';
import { SenderTokenResolver } from '../../../senders/sender-token.resolver';
import { SenderRepository } from '../../../senders/sender.repository';
import { BrowserBinding, sha256Hex } from './browser-binding';
import { ConsentError, ConsentErrorCode } from './consent-error';
import type { ConsentOutcome } from './consent-page';
import type { BeforeSendQuery, ConsentStartQuery, OAuthCallbackQuery } from './consent-query.pipe';
import { CONSENT_SETTINGS, type ConsentSettings } from './consent-settings';
import { OAuthStateRepository } from '../../../senders/oauth-state.repository';
import { isSamePlatformUser } from './platform-user-match';

/** Our states are 32 random bytes, base64url. */
const STATE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

interface AuthorizationRequest {
  platformUserId: string;
  organizationId: string | null;
  /** Set when the flow started on the before-send page: the draft to send once access is granted. */
  draftId: string | null;
}

/**
 * The before-send page and the OAuth 2.0 code grant that gets a sender's own API token
 * ("Retrieving the User API Token via OAuth"): PKCE S256 plus a single-use state bound to the browser,
 * the code exchanged server-side with the client secret, the token's user asked of the platform
 * (`whoami`) and the token stored sealed only when that user is the sender. Then the waiting draft is
 * sent and the browser goes back to eSignAnyWhere.
 *
 * The pages are public and their parameters are the browser's word: nothing short of a completed
 * grant for the sender's own account changes a sender's token, consent state or address.
 * Tokens, codes, states and nonces never reach a log line, an error message or a page.
 */
@Injectable()
export class ConsentService {
  private readonly logger = new Logger('Consent');

  constructor(
    @Inject(CONSENT_SETTINGS) private readonly settings: ConsentSettings,
    private readonly esaw: EsignAnywhereClient,
    private readonly tokens: SenderTokenResolver,
    private readonly grants: SenderGrantService,
    private readonly senders: SenderRepository,
    private readonly states: OAuthStateRepository,
    private readonly binding: BrowserBinding,
  ) {}

  /** The sender pressed NEXT: send the draft with their token, or ask for access first. */
  async beforeSend(query: BeforeSendQuery): Promise<ConsentOutcome> {
    const held = await this.tokens.resolveSender(ESIGNANYWHERE, query.senderUserId);
    if (held.kind === 'token') {
      try {
        return await this.sendDraft(held.sender.senderId, query.draftId, held.token);
      } catch (error) {
        if (!(error instanceof ConsentError && error.code === ConsentErrorCode.SEND_REFUSED)) throw error;
        // Revoked, or a draft that is not the sender's: this request cannot tell which, so the token
        // stays as it is (the archive job marks it rejected when its own calls are refused) and the
        // grant is offered; only the sender's own account can complete it.
        this.logger.warn({
          msg: 'the stored token was refused while sending a draft; offering the grant',
          sender: query.senderUserId,
          draft: query.draftId,
        });
      }
    }
    return this.authorize({
      platformUserId: query.senderUserId,
      organizationId: query.organizationId,
      draftId: query.draftId,
    });
  }

  /**
   * Re-consent from the "token rejected" mail. A token that still works is kept and paused work
   * resumes; one that does not is left for the archive job to judge, and the grant is offered.
   */
  async start(query: ConsentStartQuery): Promise<ConsentOutcome> {
    const held = await this.tokens.resolveSender(ESIGNANYWHERE, query.senderUserId);
    if (held.kind === 'unknown') {
      throw new ConsentError(ConsentErrorCode.UNKNOWN_SENDER, 're-consent requested for an unknown sender', {
        context: { sender: query.senderUserId },
      });
    }
    if (held.kind === 'token') {
      const works = await this.esaw.verifyToken(held.token).then(
        () => true,
        (error: unknown) => {
          if (!(error instanceof PlatformError)) throw error;
          // Whatever kept the token from being confirmed, a fresh grant settles it.
          return false;
        },
      );
      if (works) {
        const resumed = await this.grants.resumeAwaitingConsent(ESIGNANYWHERE, held.sender.senderId);
        this.logger.log({
          msg: 're-consent not needed: the stored token works',
          sender: query.senderUserId,
          resumed,
        });
        return this.grantedPage(resumed, 'Access is already granted');
      }
    }
    return this.authorize({
      platformUserId: held.sender.platformUserId,
      organizationId: null,
      draftId: null,
    });
  }

  /** `GET /consent/oauth/callback`: the authorization server sent the browser back. */
  async completeAuthorization(
    query: OAuthCallbackQuery,
    cookieHeader: string | undefined,
  ): Promise<ConsentOutcome> {
    if (query.state === undefined || !STATE_PATTERN.test(query.state)) {
      throw new ConsentError(ConsentErrorCode.STATE_INVALID, 'OAuth callback without a well-formed state');
    }
    const stateHash = sha256Hex(query.state);
    const context = { flow: stateHash.slice(0, 12) };
    const pending = await this.states.find(stateHash);
    if (!pending)
      throw new ConsentError(ConsentErrorCode.STATE_INVALID, 'OAuth callback with an unknown state', {
        context,
      });
    const flowContext = { ...context, sender: pending.platformUserId, draft: pending.draftId };
    if (pending.used) {
      throw new ConsentError(ConsentErrorCode.STATE_USED, 'OAuth callback replayed a used state', {
        context: flowContext,
      });
    }
    if (pending.expired) {
      throw new ConsentError(ConsentErrorCode.STATE_EXPIRED, 'OAuth callback after the state expired', {
        context: flowContext,
      });
    }
    if (!this.binding.verify(cookieHeader, stateHash, pending.browserHash)) {
      throw new ConsentError(
        ConsentErrorCode.BROWSER_MISMATCH,
        'OAuth callback from a browser without the binding cookie of this flow',
        { context: flowContext },
      );
    }
    const flow = await this.states.consume(stateHash, pending.browserHash);
    if (!flow) {
      throw new ConsentError(ConsentErrorCode.STATE_USED, 'OAuth callback lost the race for its state', {
        context: flowContext,
      });
    }
    const clearCookie = this.binding.clear(stateHash);

    if (query.error !== undefined) {
      if (query.error === 'access_denied') {
        throw new ConsentError(ConsentErrorCode.ACCESS_DENIED, 'the sender denied access', {
          context: flowContext,
        });
      }
      throw new ConsentError(
        ConsentErrorCode.AUTHORIZATION_FAILED,
        `the authorization server answered ${query.error}`,
        {
          detail: `eSignAnyWhere reported: ${query.error}.`,
          context: flowContext,
        },
      );
    }
    if (query.code === undefined) {
      throw new ConsentError(
        ConsentErrorCode.AUTHORIZATION_FAILED,
        'OAuth callback without a code or an error',
        {
          context: flowContext,
        },
      );
    }

    let token: string;
    try {
      ({ accessToken: token } = await this.esaw.exchangeCode({
        code: query.code,
        redirectUri: this.settings.redirectUri,
        codeVerifier: flow.codeVerifier,
      }));
    } catch (error) {
      throw new ConsentError(
        ConsentErrorCode.EXCHANGE_FAILED,
        'the authorization code could not be exchanged',
        {
          cause: error,
          context: flowContext,
        },
      );
    }
    const identity = await this.confirmIdentity(flow.platformUserId, token, flowContext);
    const stored = await this.grants.storeGrant({
      platform: flow.platform,
      platformUserId: flow.platformUserId,
      organizationId: flow.organizationId,
      token,
      ...(identity.email !== undefined && { email: identity.email }),
    });
    this.logger.log({
      msg: 'sender granted API access',
      ...flowContext,
      resumedTransfers: stored.resumedTransfers,
    });
    if (flow.draftId !== null) {
      const sent = await this.sendDraft(stored.senderId, flow.draftId, token);
      return { ...sent, setCookies: [clearCookie] };
    }
    return { ...this.grantedPage(stored.resumedTransfers, 'Access granted'), setCookies: [clearCookie] };
  }

  /**
   * Whoever signs in at the authorization server gets the token, and nothing in the grant names that
   * user; the platform's `whoami` does. Only a token whose user is the sender the flow was started
   * for may be stored for them: any other account is WRONG_ACCOUNT, and nothing is stored.
   */
  private async confirmIdentity(
    platformUserId: string,
    token: string,
    context: Record<string, string | null>,
  ): Promise<EsawIdentity> {
    let identity: EsawIdentity;
    try {
      identity = await this.esaw.whoAmI(token);
    } catch (error) {
      const rejected =
        error instanceof PlatformError && (error.code === 'UNAUTHORIZED' || error.code === 'FORBIDDEN');
      throw new ConsentError(
        rejected ? ConsentErrorCode.TOKEN_REJECTED : ConsentErrorCode.PLATFORM_UNAVAILABLE,
        rejected
          ? 'the platform refused the token it had just issued'
          : 'could not ask the platform whose token was granted',
        { cause: error, context },
      );
    }
    if (!isSamePlatformUser(identity.userId, platformUserId)) {
      throw new ConsentError(
        ConsentErrorCode.WRONG_ACCOUNT,
        'the granted token belongs to another eSignAnyWhere user than the sender',
        { context: { ...context, signedInAs: identity.userId } },
      );
    }
    return identity;
  }

  /**
   * Notes the draft against the sender, sends it (`POST /v6/draft/send`), notes the envelope it became,
   * and sends the browser to the inbox. A refused token is SEND_REFUSED (the caller may offer the grant).
   */
  private async sendDraft(senderId: string, draftId: string, token: string): Promise<ConsentOutcome> {
    const context = { senderRow: senderId, draft: draftId };
    // eSignAnyWhere ids are GUIDs, noted in lower case like the callbacks' (the platform's case varies).
    const draftKey = draftId.toLowerCase();
    const noted = await this.senders.noteDraft(ESIGNANYWHERE, draftKey, senderId);
    let envelopeId: string;
    try {
      ({ envelopeId } = await this.esaw.sendDraft(token, draftId));
    } catch (error) {
      const failure = sendFailure(error, context);
      // The platform said no: the draft is still a draft, and our note of it goes (if it was ours).
      if (noted && failure.code !== ConsentErrorCode.SEND_UNCONFIRMED) {
        await this.senders.forgetDraftNote(ESIGNANYWHERE, draftKey, senderId);
      }
      throw failure;
    }
    await this.senders.noteSentEnvelope(ESIGNANYWHERE, envelopeId.toLowerCase(), senderId, draftKey);
    this.logger.log({ msg: 'draft sent for the sender', ...context, envelope: envelopeId });
    return { kind: 'redirect', location: this.settings.inboxUrl };
  }

  /** Starts the code grant: state and PKCE verifier stored server-side, browser bound by cookie. */
  private async authorize(request: AuthorizationRequest): Promise<ConsentOutcome> {
    const state = randomBytes(32).toString('base64url');
    const stateHash = sha256Hex(state);
    const codeVerifier = createPkceVerifier();
    const binding = this.binding.issue(stateHash);
    await this.states.purgeExpired();
    await this.states.create(
      {
        stateHash,
        browserHash: binding.nonceHash,
        codeVerifier,
        platform: ESIGNANYWHERE,
        platformUserId: request.platformUserId,
        organizationId: request.organizationId,
        draftId: request.draftId,
      },
      this.settings.stateTtlMs,
    );
    const location = this.esaw.buildAuthorizeUrl({
      redirectUri: this.settings.redirectUri,
      state,
      codeChallenge: pkceChallengeS256(codeVerifier),
    });
    this.logger.log({
      msg: 'asking the sender to grant API access',
      flow: stateHash.slice(0, 12),
      sender: request.platformUserId,
      draft: request.draftId,
    });
    return { kind: 'redirect', location, setCookies: [binding.setCookie] };
  }

  private grantedPage(resumedTransfers: number, title: string): ConsentOutcome {
    const paragraphs = ['The archive service can now archive the envelopes you send from eSignAnyWhere.'];
    if (resumedTransfers > 0) {
      paragraphs.push(
        `${resumedTransfers} envelope${resumedTransfers === 1 ? ' that was' : 's that were'} waiting for this will now be archived.`,
      );
    }
    return {
      kind: 'page',
      status: 200,
      page: {
        title,
        paragraphs,
        outcome: 'granted',
        link: { href: this.settings.inboxUrl, text: 'Go to eSignAnyWhere' },
      },
    };
  }
}

/** What a failed `draft/send` means for the sender; anything but a clear refusal leaves the send open. */
function sendFailure(error: unknown, context: Record<string, string>): ConsentError {
  if (!(error instanceof PlatformError)) {
    return new ConsentError(ConsentErrorCode.SEND_UNCONFIRMED, 'draft/send failed unexpectedly', {
      cause: error,
      context,
    });
  }
  // A 403 (ERR0010: not allowed for this user) on the sender's own page may be a draft of someone else:
  // the person at the browser is offered a sign-in, whose account the platform then names.
  if (error.code === 'UNAUTHORIZED' || error.code === 'FORBIDDEN') {
    return new ConsentError(ConsentErrorCode.SEND_REFUSED, 'the platform refused the token for draft/send', {
      cause: error,
      context,
    });
  }
  if (error.code === 'NOT_FOUND') {
    return new ConsentError(ConsentErrorCode.DRAFT_NOT_FOUND, 'the draft does not exist for this sender', {
      cause: error,
      context,
    });
  }
  // A 4xx answer means the platform turned the request down: nothing was sent. Anything else (a
  // timeout, a reset, an unreadable success, an odd status) leaves the outcome open.
  const turnedDown = error.code === 'PROTOCOL' || error.code === 'UNSUPPORTED';
  if (turnedDown && error.status !== undefined && error.status >= 400 && error.status < 500) {
    return new ConsentError(ConsentErrorCode.SEND_REJECTED, 'the platform rejected draft/send', {
      cause: error,
      detail: `eSignAnyWhere answered HTTP ${error.status}.`,
      context,
    });
  }
  return new ConsentError(ConsentErrorCode.SEND_UNCONFIRMED, 'draft/send failed without a clear answer', {
    cause: error,
    context,
  });
}
