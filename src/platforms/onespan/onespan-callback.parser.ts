/**
 * OneSpan Sign's (and Conga Sign's) callback: one JSON `ESLProcessEvent` per POST,
 * `{"@class":"com.silanis.esl.packages.event.ESLProcessEvent","name":"PACKAGE_COMPLETE","sessionUser":"…",
 * "packageId":"…","message":null,"documentId":null,"createdDate":"2019-10-09T19:32:12.255Z"}`.
 * OneSpan does not retry a failed callback and waits at most about 20 seconds.
 */

/** Events after which the package is final and worth archiving (completed, or ended without completion). */
export const ONESPAN_ARCHIVE_EVENTS: readonly string[] = [
  'PACKAGE_COMPLETE',
  'PACKAGE_DECLINE',
  'PACKAGE_EXPIRE',
  'PACKAGE_OPT_OUT',
];

/** Every event name the platforms document; others are acknowledged and ignored (new ones appear). */
export const ONESPAN_CALLBACK_EVENTS = [
  'DOCUMENT_SIGNED',
  'DOCUMENT_VIEWED',
  'EMAIL_BOUNCE',
  'KBA_FAILURE',
  'PACKAGE_ACTIVATE',
  'PACKAGE_ARCHIVE',
  'PACKAGE_ATTACHMENT',
  'PACKAGE_COMPLETE',
  'PACKAGE_CREATE',
  'PACKAGE_DEACTIVATE',
  'PACKAGE_DECLINE',
  'PACKAGE_DELETE',
  'PACKAGE_EXPIRE',
  'PACKAGE_OPT_OUT',
  'PACKAGE_READY_FOR_COMPLETE',
  'PACKAGE_RESTORE',
  'PACKAGE_TRASH',
  'ROLE_REASSIGN',
  'SIGNER_COMPLETE',
  'SIGNER_LOCKED',
  'TEMPLATE_CREATE',
  'COBROWSE_REQUEST',
] as const;

/** Package ids are opaque, case-sensitive text (`wVdZEaPD2igwUnFGJBjDD0dpO7k=`), at most 255 characters. */
export const PACKAGE_ID_PATTERN = /^[A-Za-z0-9+/=_-]{1,255}$/;
const EVENT_NAME_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

export type ParsedOneSpanCallback =
  | { ok: true; packageId: string; event: string; known: boolean; createsWork: boolean }
  | { ok: false; reason: string };

export type ValidOneSpanCallback = Extract<ParsedOneSpanCallback, { ok: true }>;

/** Validates an `ESLProcessEvent` body; the package id is kept exactly as sent (it is case-sensitive). */
export function parseOneSpanCallback(body: unknown): ParsedOneSpanCallback {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, reason: 'the body must be a JSON object (an ESLProcessEvent)' };
  }
  const event = (body as Record<string, unknown>).name;
  const packageId = (body as Record<string, unknown>).packageId;
  if (typeof event !== 'string' || event === '') return { ok: false, reason: 'name is missing' };
  if (!EVENT_NAME_PATTERN.test(event)) return { ok: false, reason: 'name is malformed' };
  if (typeof packageId !== 'string' || packageId === '') return { ok: false, reason: 'packageId is missing' };
  if (!PACKAGE_ID_PATTERN.test(packageId)) {
    return {
      ok: false,
      reason: 'packageId must be a package id (at most 255 characters of base64 or URL-safe text)',
    };
  }
  return {
    ok: true,
    packageId,
    event,
    known: (ONESPAN_CALLBACK_EVENTS as readonly string[]).includes(event),
    createsWork: ONESPAN_ARCHIVE_EVENTS.includes(event),
  };
}
