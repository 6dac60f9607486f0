export const ESIGNANYWHERE = 'esignanywhere';

/** Action codes eSignAnyWhere documents for its envelope and status callbacks. */
export const ESAW_CALLBACK_ACTIONS = [
  'envelopeFinished',
  'workstepFinished',
  'workstepRejected',
  'workstepDelegated',
  'workstepOpened',
  'sendSignNotification',
  'envelopeExpired',
  'workstepDelegatedSenderActionRequired',
] as const;

/** Actions after which the envelope is final and worth archiving. */
export const ESAW_ARCHIVE_ACTIONS: readonly string[] = ['envelopeFinished', 'envelopeExpired'];

export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ACTION_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export type ParsedCallback =
  | { ok: true; envelopeId: string; action: string; known: boolean; createsWork: boolean }
  | { ok: false; reason: string };

/**
 * A query value as text. The query parser yields only strings (arrays for a repeated name); any other
 * value becomes a text that neither pattern below accepts.
 */
function queryText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return '[object]';
}

function pick(query: Record<string, unknown>, ...names: string[]): string | string[] | undefined {
  for (const name of names) {
    const value = query[name];
    if (value !== undefined) return Array.isArray(value) ? value.map(queryText) : queryText(value);
  }
  return undefined;
}

/** Validates the query of an eSignAnyWhere callback (`?envelope=##EnvelopeId##&action=##Action##`). */
export function parseEsawCallback(query: Record<string, unknown>): ParsedCallback {
  const envelope = pick(query, 'envelope', 'EnvelopeId', 'envelopeId');
  const action = pick(query, 'action', 'Action');
  if (envelope === undefined || envelope === '') return { ok: false, reason: 'envelope is missing' };
  if (Array.isArray(envelope)) return { ok: false, reason: 'envelope is given more than once' };
  if (!GUID_PATTERN.test(envelope)) return { ok: false, reason: 'envelope must be a GUID' };
  if (action === undefined || action === '') return { ok: false, reason: 'action is missing' };
  if (Array.isArray(action)) return { ok: false, reason: 'action is given more than once' };
  if (!ACTION_PATTERN.test(action)) return { ok: false, reason: 'action is malformed' };
  return {
    ok: true,
    envelopeId: envelope.toLowerCase(),
    action,
    known: (ESAW_CALLBACK_ACTIONS as readonly string[]).includes(action),
    createsWork: ESAW_ARCHIVE_ACTIONS.includes(action),
  };
}

export type ValidEsawCallback = Extract<ParsedCallback, { ok: true }>;
