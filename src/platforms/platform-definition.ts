import type { DynamicModule } from '@nestjs/common';
import type { ConfigSection } from '../config/config-section';

/**
 * What a platform kind brings to the service: its configuration section (validated once with the
 * rest), its own tables' entities, and a module holding its callback controller, guard and parser,
 * its client and adapter(s), and its optional capabilities (before-send consent, listing finished
 * envelopes). The module provides its adapters as a `SigningPlatform[]` under `instancesToken`: one per
 * configured instance of the kind.
 */
export interface PlatformDefinition<C = unknown> {
  readonly kind: string;
  readonly config: ConfigSection<C>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM takes entity classes
  readonly entities?: readonly Function[];
  readonly instancesToken: symbol;
  /** Its callback routes (`/callbacks/<route>`) and their known events: the metrics' closed label sets. */
  readonly callbacks: readonly CallbackRouteLabels[];
  module(config: C): DynamicModule;
}

export interface CallbackRouteLabels {
  readonly route: string;
  readonly actions: readonly string[];
  /** The event a request names, read without trusting it (only a known one becomes a label). */
  actionOf(query: unknown, body: unknown): unknown;
  /** The largest request body the route takes (a platform's batch of changes). Default 64 KiB. */
  readonly maxBodyBytes?: number;
}

/**
 * A definition checked against its own config type, then listed among others: the module receives
 * what its own section validated.
 */
export function definePlatform<C>(definition: PlatformDefinition<C>): PlatformDefinition {
  return { ...definition, module: (config) => definition.module(config as C) };
}
