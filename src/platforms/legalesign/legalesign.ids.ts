/** Legalesign's document ids are UUIDs; kept in lower case, as the API writes them. */
export const DOCUMENT_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The document id of a `/api/v1/document/<uuid>/` URI (as Legalesign writes it), or undefined. */
export function documentIdOfUri(uri: string): string | undefined {
  const match = /^(?:https?:\/\/[^/]+)?\/api\/v1\/document\/([^/]+)\/?$/.exec(uri);
  return match && DOCUMENT_ID_PATTERN.test(match[1]) ? match[1].toLowerCase() : undefined;
}

/** A document id from a plain `uuid` field, or undefined. */
export function documentId(value: unknown): string | undefined {
  return typeof value === 'string' && DOCUMENT_ID_PATTERN.test(value) ? value.toLowerCase() : undefined;
}
