// tar-fs ships no types; this covers what browser.ts uses.
declare module 'tar-fs' {
  import type { Writable } from 'node:stream';
  /** A stream that unpacks the tar archive written to it into `directory`. */
  export function extract(directory: string): Writable;
}
