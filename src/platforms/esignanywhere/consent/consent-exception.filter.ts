import {
  Catch,
  HttpException,
  Inject,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isDatabaseUnavailable } from '../../../common/database-errors';
import { ConsentError, ConsentErrorCode } from './consent-error';
import { sendConsentOutcome, type ConsentPage } from './consent-page';
import { CONSENT_SETTINGS, type ConsentSettings } from './consent-settings';

interface ErrorView {
  status: number;
  title: string;
  text: string[];
  /** Offer the way back to eSignAnyWhere. */
  inbox?: boolean;
}

const DRAFT_KEPT =
  'Your draft was not sent; it is still in eSignAnyWhere. Open it and choose Next again to retry.';

/** One page per code: what happened, in the sender's words, and what to do next. */
const VIEWS: Record<ConsentErrorCode, ErrorView> = {
  [ConsentErrorCode.NOT_CONFIGURED]: {
    status: 503,
    title: 'Consent is not configured',
    text: [
      'This archive service is not set up to ask for eSignAnyWhere access yet.',
      'Please tell your administrator; nothing was changed.',
    ],
  },
  [ConsentErrorCode.INVALID_REQUEST]: {
    status: 400,
    title: 'This link is not valid',
    text: ['The address is incomplete or malformed, so nothing was done.'],
  },
  [ConsentErrorCode.UNKNOWN_SENDER]: {
    status: 404,
    title: 'Unknown sender',
    text: [
      'This archive service has no record of that eSignAnyWhere user. Use the link from your e-mail unchanged.',
    ],
  },
  [ConsentErrorCode.STATE_INVALID]: {
    status: 400,
    title: 'This sign-in answer is not valid',
    text: ['It does not belong to a request this service started, so nothing was stored.', DRAFT_KEPT],
    inbox: true,
  },
  [ConsentErrorCode.STATE_EXPIRED]: {
    status: 400,
    title: 'This sign-in took too long',
    text: ['The request expired after 10 minutes and nothing was stored.', DRAFT_KEPT],
    inbox: true,
  },
  [ConsentErrorCode.STATE_USED]: {
    status: 400,
    title: 'This sign-in link was already used',
    text: ['Each sign-in answer works once. Nothing more was done.'],
    inbox: true,
  },
  [ConsentErrorCode.BROWSER_MISMATCH]: {
    status: 403,
    title: 'Please finish in the same browser',
    text: [
      'This sign-in was started in another browser (or its cookies were cleared), so it cannot be completed here.',
      'Nothing was stored. Start again from eSignAnyWhere in this browser.',
    ],
  },
  [ConsentErrorCode.ACCESS_DENIED]: {
    status: 403,
    title: 'Access was not granted',
    text: [
      'You declined to let the archive service act for you in eSignAnyWhere, so nothing was stored.',
      DRAFT_KEPT,
    ],
    inbox: true,
  },
  [ConsentErrorCode.AUTHORIZATION_FAILED]: {
    status: 502,
    title: 'eSignAnyWhere did not grant access',
    text: ['eSignAnyWhere ended the sign-in with an error, so nothing was stored.', DRAFT_KEPT],
    inbox: true,
  },
  [ConsentErrorCode.EXCHANGE_FAILED]: {
    status: 502,
    title: 'Access could not be completed',
    text: ['eSignAnyWhere did not confirm the sign-in, so nothing was stored. Please try again.', DRAFT_KEPT],
    inbox: true,
  },
  [ConsentErrorCode.TOKEN_REJECTED]: {
    status: 502,
    title: 'Access could not be completed',
    text: ['eSignAnyWhere refused the access it had just granted, so nothing was stored.', DRAFT_KEPT],
    inbox: true,
  },
  [ConsentErrorCode.WRONG_ACCOUNT]: {
    status: 403,
    title: 'Signed in with another account',
    text: [
      'eSignAnyWhere says the account you signed in with is not the sender this page was opened for, so nothing was stored and nothing was sent.',
      'Sign out of eSignAnyWhere, sign in with your own account and try again.',
    ],
    inbox: true,
  },
  [ConsentErrorCode.PLATFORM_UNAVAILABLE]: {
    status: 502,
    title: 'eSignAnyWhere is not answering',
    text: [
      'The access could not be checked, so nothing was stored. Please try again in a few minutes.',
      DRAFT_KEPT,
    ],
    inbox: true,
  },
  [ConsentErrorCode.DRAFT_NOT_FOUND]: {
    status: 404,
    title: 'Draft not found',
    text: [
      'eSignAnyWhere has no such draft for your account. If you just sent it, it is already in your inbox.',
    ],
    inbox: true,
  },
  [ConsentErrorCode.SEND_REFUSED]: {
    status: 502,
    title: 'The draft could not be sent',
    text: ['eSignAnyWhere refused to send this draft with your access. Check that the draft is yours.'],
    inbox: true,
  },
  [ConsentErrorCode.SEND_REJECTED]: {
    status: 502,
    title: 'The draft could not be sent',
    text: ['eSignAnyWhere refused to send the draft. Open it in eSignAnyWhere, check it, and send it again.'],
    inbox: true,
  },
  [ConsentErrorCode.SEND_UNCONFIRMED]: {
    status: 502,
    title: 'Sending was not confirmed',
    text: [
      'eSignAnyWhere did not confirm that the envelope was sent.',
      'Look in your eSignAnyWhere inbox before sending it again, so it does not go out twice.',
    ],
    inbox: true,
  },
};

/**
 * Turns every failure on the consent routes into an HTML page with the right status and the security
 * headers, and one log line: the code, identifiers and the failure's message (never a token, code,
 * state or cookie: services do not put them into messages, and request data is not logged).
 */
@Catch()
export class ConsentExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Consent');

  constructor(@Inject(CONSENT_SETTINGS) private readonly settings: ConsentSettings) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (reply.sent) return;
    const { status, page, retryAfter } = this.describe(exception);
    if (retryAfter) void reply.header('Retry-After', retryAfter);
    sendConsentOutcome(reply, { kind: 'page', status, page });
  }

  private describe(exception: unknown): { status: number; page: ConsentPage; retryAfter?: string } {
    if (exception instanceof ConsentError) {
      const view = VIEWS[exception.code];
      const cause = exception.cause instanceof Error ? exception.cause.message : undefined;
      const line = {
        msg: exception.message,
        code: exception.code,
        ...exception.context,
        ...(cause && { cause }),
      };
      if (view.status >= 500) this.logger.warn(line);
      else this.logger.log(line);
      return {
        status: view.status,
        page: {
          title: view.title,
          paragraphs: exception.detail ? [view.text[0], exception.detail, ...view.text.slice(1)] : view.text,
          outcome: exception.code,
          ...(view.inbox &&
            this.settings.inboxUrl && {
              link: { href: this.settings.inboxUrl, text: 'Back to eSignAnyWhere' },
            }),
        },
        ...(exception.code === ConsentErrorCode.NOT_CONFIGURED && { retryAfter: '3600' }),
      };
    }
    if (exception instanceof HttpException && exception.getStatus() < 500) {
      return {
        status: exception.getStatus(),
        page: {
          title: 'Request not accepted',
          paragraphs: ['Nothing was done.'],
          outcome: `HTTP_${exception.getStatus()}`,
        },
      };
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn({
        msg: `database unavailable: ${(exception as Error).message}`,
        code: 'STORAGE_UNAVAILABLE',
      });
      return {
        status: 503,
        page: {
          title: 'Please try again shortly',
          paragraphs: [
            'The archive service cannot reach its database right now. Nothing was stored.',
            DRAFT_KEPT,
          ],
          outcome: 'STORAGE_UNAVAILABLE',
        },
        retryAfter: '30',
      };
    }
    this.logger.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    );
    return {
      status: 500,
      page: {
        title: 'Something went wrong',
        paragraphs: [
          'The archive service hit an unexpected error. Please try again, or tell your administrator.',
        ],
        outcome: 'INTERNAL',
      },
    };
  }
}
