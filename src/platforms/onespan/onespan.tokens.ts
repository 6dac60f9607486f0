import type { OneSpanInstance } from './onespan.config';

/** DI token: the configured instances by callback route (`onespan`, `conga`). */
export const ONESPAN_INSTANCES_BY_ROUTE = Symbol('ONESPAN_INSTANCES_BY_ROUTE');
export type OneSpanInstancesByRoute = ReadonlyMap<string, OneSpanInstance>;

/** DI token: this kind's adapters, one per configured instance. */
export const ONESPAN_PLATFORMS = Symbol('ONESPAN_PLATFORMS');
