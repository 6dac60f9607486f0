// Controls, format characters (bidi overrides, zero-width), surrogates, private use, unassigned.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\\]/gu;

/**
 * Text from outside (a platform's file name, a metadata value) made safe to store, log and show,
 * while keeping what it said: Unicode NFC, every invisible or control character (and a lone
 * surrogate) written as `\u{hex}` and a backslash as `\\`, at most `maxChars` code points (cut ones
 * end in `…`). PostgreSQL text, JSON and HTTP headers all take the result.
 */
export function escapeUntrusted(value: string | null | undefined, maxChars: number): string {
  const text = (value ?? '')
    .normalize('NFC')
    .replace(UNPRINTABLE, (c) => (c === '\\' ? '\\\\' : `\\u{${c.codePointAt(0)!.toString(16)}}`));
  const chars = Array.from(text);
  return chars.length <= maxChars ? text : `${chars.slice(0, maxChars - 1).join('')}…`;
}
