import { parse as parseContentDisposition } from 'content-disposition';

/** A Content-Length header: undefined when absent, null when present but not a non-negative integer. */
export function parseContentLength(value: string | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed)) return null;
  const length = Number(trimmed);
  return Number.isSafeInteger(length) ? length : null;
}

/**
 * The file name of a Content-Disposition header (RFC 6266; `filename*` in UTF-8 or ISO-8859-1 wins
 * over `filename`), or undefined when there is none or the header cannot be parsed.
 */
export function parseContentDispositionFileName(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const name = parseContentDisposition(value).parameters.filename;
    return typeof name === 'string' && name !== '' ? name : undefined;
  } catch {
    return undefined;
  }
}
