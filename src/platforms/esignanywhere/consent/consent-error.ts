import { AppError } from '../../../common/app-error';
/** Why a consent request ended without its goal; each code maps to one page and status at the edge. */
export enum ConsentErrorCode {
  /** TOKEN_ENCRYPTION_KEYS, the OAuth client or PUBLIC_BASE_URL is missing. */
  NOT_CONFIGURED = 'NOT_CONFIGURED',
  /** A query parameter is missing, repeated or malformed (often an unreplaced placeholder). */
  INVALID_REQUEST = 'INVALID_REQUEST',
  /** /consent/start for a sender this service has never seen. */
  UNKNOWN_SENDER = 'UNKNOWN_SENDER',
  /** The callback's state is missing, malformed or not one we issued. */
  STATE_INVALID = 'STATE_INVALID',
  STATE_EXPIRED = 'STATE_EXPIRED',
  STATE_USED = 'STATE_USED',
  /** The callback arrived in another browser than the one that started the flow. */
  BROWSER_MISMATCH = 'BROWSER_MISMATCH',
  /** The sender chose Deny. */
  ACCESS_DENIED = 'ACCESS_DENIED',
  /** The authorization server answered with another error, or without a code. */
  AUTHORIZATION_FAILED = 'AUTHORIZATION_FAILED',
  /** The code could not be exchanged for a token. */
  EXCHANGE_FAILED = 'EXCHANGE_FAILED',
  /** The platform refused the token it had just issued. */
  TOKEN_REJECTED = 'TOKEN_REJECTED',
  /**
   * The new token works but the platform names another eSignAnyWhere user than the sender the flow was
   * started for. Nothing is stored and nothing is sent.
   */
  WRONG_ACCOUNT = 'WRONG_ACCOUNT',
  /** The platform could not be reached to check the new token. */
  PLATFORM_UNAVAILABLE = 'PLATFORM_UNAVAILABLE',
  /** The draft does not exist (any more) for this sender: already sent, deleted, or someone else's. */
  DRAFT_NOT_FOUND = 'DRAFT_NOT_FOUND',
  /** The platform refused to send the draft with a freshly granted token. */
  SEND_REFUSED = 'SEND_REFUSED',
  /** The platform rejected the send request itself (the draft is incomplete, or similar). */
  SEND_REJECTED = 'SEND_REJECTED',
  /** The send may or may not have happened (timeout, unreadable answer). */
  SEND_UNCONFIRMED = 'SEND_UNCONFIRMED',
}

/**
 * A consent request that failed for a reason we can name. `message` goes to the log only and never
 * holds a token, code, state, nonce or secret; `detail` is a short, safe sentence for the page;
 * `context` adds identifiers (sender, draft, flow) to the log line.
 */
export class ConsentError extends AppError<ConsentErrorCode> {
  readonly detail?: string;
  readonly context: Readonly<Record<string, string | number | null>>;

  constructor(
    code: ConsentErrorCode,
    message: string,
    options: { cause?: unknown; detail?: string; context?: Record<string, string | number | null> } = {},
  ) {
    super(message, code, options);
    if (options.detail !== undefined) this.detail = options.detail;
    this.context = options.context ?? {};
  }
}
