import type { LegalesignInstance } from './legalesign.config';

/** DI token: the configured instance, or undefined when Legalesign is off. */
export const LEGALESIGN_INSTANCE = Symbol('LEGALESIGN_INSTANCE');

/** DI token: this kind's adapters (none or one). */
export const LEGALESIGN_PLATFORMS = Symbol('LEGALESIGN_PLATFORMS');

export type LegalesignInstanceRef = LegalesignInstance | undefined;
