import { Injectable, type PipeTransform } from '@nestjs/common';
import { GUID_PATTERN } from '../esignanywhere.schemas';
import { ConsentError, ConsentErrorCode } from './consent-error';

/** `GET /consent/before-send?envelope=##EnvelopeId##&sender=##SenderUserId##&org=##OrganizationId##` */
export interface BeforeSendQuery {
  /** At this point `##EnvelopeId##` is still the draft's id. */
  draftId: string;
  senderUserId: string;
  organizationId: string | null;
}

/** `GET /consent/start?sender=<platform user id>` (the link in the "token rejected" mail). */
export interface ConsentStartQuery {
  senderUserId: string;
}

/** What the authorization server appends to the redirect URI. */
export interface OAuthCallbackQuery {
  state?: string;
  code?: string;
  /** An OAuth error code (`access_denied`, ...); anything not shaped like one becomes `invalid`. */
  error?: string;
}

// eSignAnyWhere user and organization ids are GUIDs in practice; accept a little more, but nothing
// that could be markup, a path or a header, and nothing long.
const PLATFORM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;
const OAUTH_ERROR_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const CODE_PATTERN = /^[\x21-\x7e]{1,2048}$/;
const STATE_MAX_LENGTH = 512;

type RawQuery = Record<string, unknown>;

function asQuery(value: unknown): RawQuery {
  return typeof value === 'object' && value !== null ? (value as RawQuery) : {};
}

function invalid(reason: string): ConsentError {
  return new ConsentError(ConsentErrorCode.INVALID_REQUEST, `rejected consent request: ${reason}`, {
    detail: reason,
  });
}

/** One value of a parameter: a repeated parameter is refused, since which copy wins is ambiguous. */
function single(query: RawQuery, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(`The parameter "${name}" must be given exactly once.`);
  return value;
}

function required(query: RawQuery, name: string, pattern: RegExp, what: string): string {
  const value = single(query, name);
  if (value === undefined) throw invalid(`The parameter "${name}" is missing.`);
  if (!pattern.test(value)) {
    const placeholder = /^##\w+##$/.test(value)
      ? ' It still holds a placeholder: check the redirect URL set in eSignAnyWhere.'
      : '';
    throw invalid(`The parameter "${name}" must be ${what}.${placeholder}`);
  }
  return value;
}

@Injectable()
export class BeforeSendQueryPipe implements PipeTransform<unknown, BeforeSendQuery> {
  transform(value: unknown): BeforeSendQuery {
    const query = asQuery(value);
    const draftId = required(query, 'envelope', GUID_PATTERN, "the draft's id (a GUID)");
    const senderUserId = required(query, 'sender', PLATFORM_ID_PATTERN, 'an eSignAnyWhere user id');
    const org = single(query, 'org');
    if (org !== undefined && !PLATFORM_ID_PATTERN.test(org)) {
      throw invalid('The parameter "org" must be an eSignAnyWhere organization id.');
    }
    return { draftId, senderUserId, organizationId: org ?? null };
  }
}

@Injectable()
export class ConsentStartQueryPipe implements PipeTransform<unknown, ConsentStartQuery> {
  transform(value: unknown): ConsentStartQuery {
    return {
      senderUserId: required(asQuery(value), 'sender', PLATFORM_ID_PATTERN, 'an eSignAnyWhere user id'),
    };
  }
}

/**
 * Shapes only; whether the state is ours is the service's question. A malformed state is passed on
 * as absent, so it is answered like any state we do not know.
 */
@Injectable()
export class OAuthCallbackQueryPipe implements PipeTransform<unknown, OAuthCallbackQuery> {
  transform(value: unknown): OAuthCallbackQuery {
    const query = asQuery(value);
    const state = single(query, 'state');
    const code = single(query, 'code');
    const error = single(query, 'error');
    if (code !== undefined && !CODE_PATTERN.test(code)) throw invalid('The authorization code is malformed.');
    return {
      ...(state !== undefined && state.length <= STATE_MAX_LENGTH && { state }),
      ...(code !== undefined && { code }),
      ...(error !== undefined && { error: OAUTH_ERROR_PATTERN.test(error) ? error : 'invalid' }),
    };
  }
}
