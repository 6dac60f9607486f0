import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const MAX_METADATA_BYTES = 256 * 1024;
const MAX_FIELDS = 500;
/** Deeper nesting than this is refused before parsing (a parser's recursion is not a limit). */
export const MAX_METADATA_DEPTH = 32;
const MAX_ELEMENTS = 10_000;
/** Names that would reach an object's prototype in any code that builds objects from them. */
const HOSTILE_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const TAG = /<(\/?)([^\s/>!?]+)[^>]*?(\/?)>/g;

export interface ParsedMetadata {
  /** Leaf elements by their path (`Order/Number`), in document order; repeated paths get `[n]`. */
  fields: Record<string, string>;
  /** Set when the metadata could not be used; the raw text still goes into the manifest. */
  problem?: string;
}

/**
 * Reads an envelope's MetaData, which a DMS tagging page usually writes as XML. Hostile input is
 * refused: anything with a DOCTYPE (entity expansion, external entities), anything too large.
 * Metadata that is not XML is kept as one field, `MetaData`.
 */
export function parseEnvelopeMetadata(raw: string | null): ParsedMetadata {
  if (raw === null || raw.trim() === '') return { fields: {} };
  if (Buffer.byteLength(raw, 'utf8') > MAX_METADATA_BYTES) {
    return { fields: {}, problem: `metadata larger than ${MAX_METADATA_BYTES} bytes was not parsed` };
  }
  const text = raw.trim();
  if (!text.startsWith('<')) return { fields: { MetaData: text.slice(0, 1024) } };
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return { fields: {}, problem: 'metadata with a DOCTYPE was refused' };
  const shape = shapeProblem(text);
  if (shape) return { fields: {}, problem: shape };
  try {
    if (XMLValidator.validate(text) !== true)
      return { fields: {}, problem: 'metadata is not well-formed XML' };
    return { fields: readFields(text) };
  } catch (error) {
    return { fields: {}, problem: `metadata could not be read: ${(error as Error).message.slice(0, 200)}` };
  }
}

/** Refuses, before any parser sees it, metadata nested too deep, with too many elements or hostile names. */
function shapeProblem(text: string): string | undefined {
  let depth = 0;
  let deepest = 0;
  let elements = 0;
  for (const match of text.matchAll(TAG)) {
    const [, closing, name, selfClosing] = match;
    if (HOSTILE_NAMES.has(name)) return `metadata uses the element name ${name}, which is refused`;
    if (closing) depth = Math.max(0, depth - 1);
    else {
      elements++;
      if (!selfClosing) depth++;
      deepest = Math.max(deepest, depth);
    }
    if (deepest > MAX_METADATA_DEPTH)
      return `metadata nested deeper than ${MAX_METADATA_DEPTH} levels was refused`;
    if (elements > MAX_ELEMENTS) return `metadata with more than ${MAX_ELEMENTS} elements was refused`;
  }
  return undefined;
}

function readFields(text: string): Record<string, string> {
  const parser = new XMLParser({
    ignoreAttributes: true,
    processEntities: false,
    htmlEntities: false,
    parseTagValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
  });
  const doc: unknown = parser.parse(text);
  // No prototype: no field name, whatever it is, can reach one.
  const fields = Object.create(null) as Record<string, string>;
  let count = 0;
  const walk = (node: unknown, path: string) => {
    if (count >= MAX_FIELDS) return;
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, `${path}[${i + 1}]`));
    } else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) walk(value, path ? `${path}/${key}` : key);
    } else if (path) {
      // parseTagValue is off, so leaves are text; anything else that is not a value counts as empty.
      fields[path] =
        typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean' ? String(node) : '';
      count++;
    }
  };
  // The single root element is a wrapper; paths start below it.
  const root = doc && typeof doc === 'object' ? Object.values(doc as Record<string, unknown>) : [];
  if (root.length === 1 && root[0] !== null && typeof root[0] === 'object') walk(root[0], '');
  else walk(doc, '');
  return { ...fields };
}

/**
 * Chooses S3 tags from the metadata: `mapping` is tag name -> field path. Without a mapping the
 * first leaf fields are used by their last path segment. `limit` leaves room for the system tags.
 */
export function metadataTags(
  fields: Record<string, string>,
  mapping: Record<string, string> | undefined,
  limit: number,
): Record<string, string> {
  const tags = Object.create(null) as Record<string, string>;
  const entries = mapping
    ? Object.entries(mapping).map(([tag, path]) => [tag, fields[path]] as const)
    : Object.entries(fields).map(
        ([path, value]) =>
          [
            path
              .split('/')
              .pop()!
              .replace(/\[\d+\]$/, ''),
            value,
          ] as const,
      );
  for (const [tag, value] of entries) {
    if (Object.keys(tags).length >= limit) break;
    if (value === undefined || value === '' || tag in tags) continue;
    tags[tag] = value;
  }
  return { ...tags };
}
