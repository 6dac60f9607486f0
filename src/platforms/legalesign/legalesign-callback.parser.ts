import { documentId, documentIdOfUri } from './legalesign.ids';

/**
 * Legalesign's callbacks, all at `POST /callbacks/legalesign`:
 * - the batched "all" callback (every 6 minutes), a form with `data` (a JSON list of
 *   `{timestamp, name, value, resource_uri}` status changes, in order) and `signed` (its signature);
 * - the realtime webhook, JSON `{version, object, event, id, created, data: {uuid, ...}}`;
 * - the legacy "signed" callback, a form with `resource_uri`, `group`, `name`, `uuid`.
 */

/** Document statuses a change may report; 30 (signed), 40 (removed) and 50 (rejected) are final. */
const DOCUMENT_STATUSES = ['10', '20', '30', '40', '50'] as const;
const ARCHIVE_STATUSES = ['30', '40', '50'];

/** Realtime events, with the `document.` / `recipient.` prefix (added when Legalesign leaves it out). */
export const LEGALESIGN_REALTIME_EVENTS = [
  'document.created',
  'document.rejected',
  'document.finalPdfCreated',
  'recipient.completed',
  'recipient.rejected',
  'recipient.emailOpened',
  'recipient.visiting',
  'recipient.bounced',
] as const;
const REALTIME_ARCHIVE_EVENTS: readonly string[] = ['document.finalPdfCreated', 'document.rejected'];

/** The metrics' closed set of callback kinds on the route. */
export const LEGALESIGN_CALLBACK_ACTIONS = ['batch', 'signed', ...LEGALESIGN_REALTIME_EVENTS] as const;

export const BATCH_ACTIONS = DOCUMENT_STATUSES.map((s) => `status_${s}`);

/** One callback for one document, as the intake notes it. */
export interface DocumentNote {
  documentId: string;
  action: string;
  known: boolean;
  createsWork: boolean;
  /** When Legalesign says the change happened (batches), for the evidence. */
  timestamp?: string;
}

export type LegalesignCallbackBody =
  | { style: 'batch'; data: string; signature: string }
  | { style: 'realtime'; body: Record<string, unknown> }
  | { style: 'signed'; fields: Record<string, unknown> };

const MAX_FIELD_CHARS = 512;

/** Which of the three callbacks a body is, or why it is none of them. */
export function callbackStyle(body: unknown): LegalesignCallbackBody | { error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { error: 'the body must be a form or a JSON object' };
  }
  const fields = body as Record<string, unknown>;
  if ('signed' in fields || 'data' in fields) {
    if ('event' in fields && typeof fields.data === 'object') return { style: 'realtime', body: fields };
    if (typeof fields.data !== 'string' || typeof fields.signed !== 'string') {
      return { error: 'a batch needs one data field and one signed field' };
    }
    return { style: 'batch', data: fields.data, signature: fields.signed };
  }
  if ('event' in fields) return { style: 'realtime', body: fields };
  if ('uuid' in fields || 'resource_uri' in fields) return { style: 'signed', fields };
  return { error: 'not a Legalesign callback (no data/signed, event or uuid)' };
}

/** The label a request gets in metrics, read without trusting it. */
export function callbackAction(body: unknown): string | undefined {
  const style = callbackStyle(body);
  if ('error' in style) return undefined;
  if (style.style !== 'realtime') return style.style;
  return realtimeEvent(style.body.object, style.body.event);
}

export type ParsedBatch =
  | { ok: true; notes: DocumentNote[]; changes: number; ignored: number; list: unknown[] }
  | { ok: false; reason: string; tooLarge?: boolean };

/**
 * The changes of a verified batch. A change this service cannot use (a signer's, whose document it does
 * not name; one that is malformed) is kept in the batch's record and counted, but noted for no document:
 * it never costs the others.
 */
export function parseBatchData(data: string, maxChanges: number): ParsedBatch {
  let list: unknown;
  try {
    list = JSON.parse(data);
  } catch {
    return { ok: false, reason: 'data: is not JSON' };
  }
  if (!Array.isArray(list)) return { ok: false, reason: 'data: must be a JSON list of changes' };
  if (list.length > maxChanges) {
    return { ok: false, reason: `data: more than ${maxChanges} changes`, tooLarge: true };
  }
  const notes: DocumentNote[] = [];
  let ignored = 0;
  for (const change of list) {
    const note = documentChange(change);
    if (note) notes.push(note);
    else ignored++;
  }
  return { ok: true, notes, changes: list.length, ignored, list };
}

function documentChange(change: unknown): DocumentNote | undefined {
  if (typeof change !== 'object' || change === null || Array.isArray(change)) return undefined;
  const { name, value, resource_uri: uri, timestamp } = change as Record<string, unknown>;
  if (name !== 'status' || typeof uri !== 'string' || uri.length > MAX_FIELD_CHARS) return undefined;
  const id = documentIdOfUri(uri);
  const status = typeof value === 'number' ? String(value) : value;
  if (!id || typeof status !== 'string' || !/^\d{1,3}$/.test(status)) return undefined;
  return {
    documentId: id,
    action: `status_${status}`,
    known: (DOCUMENT_STATUSES as readonly string[]).includes(status),
    createsWork: ARCHIVE_STATUSES.includes(status),
    ...(typeof timestamp === 'string' && timestamp.length <= 64 && { timestamp }),
  };
}

export type ParsedSingle = { ok: true; note: DocumentNote } | { ok: false; reason: string };

/** A realtime webhook: its event (prefixed) and the document it is about. */
export function parseRealtime(body: Record<string, unknown>): ParsedSingle {
  const event = realtimeEvent(body.object, body.event);
  if (!event) return { ok: false, reason: 'event: is missing or malformed' };
  const data = body.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, reason: 'data: must be an object' };
  }
  const fields = data as Record<string, unknown>;
  const id = event.startsWith('recipient.')
    ? (documentId(fields.document) ??
      documentIdOfUri(typeof fields.documentResourceUri === 'string' ? fields.documentResourceUri : ''))
    : documentId(fields.uuid);
  const known = (LEGALESIGN_REALTIME_EVENTS as readonly string[]).includes(event);
  // An event this service does not know is acknowledged and ignored, whatever it is about.
  if (!known) return { ok: true, note: { documentId: id ?? '-', action: event, known, createsWork: false } };
  if (!id) return { ok: false, reason: 'data.uuid: must be a document UUID' };
  return {
    ok: true,
    note: { documentId: id, action: event, known, createsWork: REALTIME_ARCHIVE_EVENTS.includes(event) },
  };
}

/** The legacy "signed" form: `uuid` (and `resource_uri`, which must name the same document). */
export function parseSigned(fields: Record<string, unknown>): ParsedSingle {
  const id = documentId(fields.uuid);
  const fromUri =
    typeof fields.resource_uri === 'string' && fields.resource_uri.length <= MAX_FIELD_CHARS
      ? documentIdOfUri(fields.resource_uri)
      : undefined;
  if (fields.uuid !== undefined && !id) return { ok: false, reason: 'uuid: must be a document UUID' };
  if (fields.resource_uri !== undefined && !fromUri) {
    return { ok: false, reason: 'resource_uri: must be /api/v1/document/<UUID>/' };
  }
  if (id && fromUri && id !== fromUri)
    return { ok: false, reason: 'uuid and resource_uri name different documents' };
  const documentIdFound = id ?? fromUri;
  if (!documentIdFound) return { ok: false, reason: 'uuid: is missing' };
  return {
    ok: true,
    note: { documentId: documentIdFound, action: 'signed', known: true, createsWork: true },
  };
}

/** `finalPdfCreated` with object `document` → `document.finalPdfCreated`; a prefixed event as it is. */
function realtimeEvent(object: unknown, event: unknown): string | undefined {
  if (typeof event !== 'string' || !/^[A-Za-z][\w.]{0,63}$/.test(event)) return undefined;
  if (event.includes('.')) return event;
  const prefix = object === 'recipient' ? 'recipient' : 'document';
  return `${prefix}.${event}`;
}
