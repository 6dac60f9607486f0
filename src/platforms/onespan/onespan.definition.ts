import { definePlatform } from '../platform-definition';
import { ONESPAN_CALLBACK_EVENTS } from './onespan-callback.parser';
import { oneSpanConfig } from './onespan.config';
import { OneSpanModule } from './onespan.module';
import { ONESPAN_PLATFORMS } from './onespan.tokens';

const eventOf = (_query: unknown, body: unknown): unknown =>
  typeof body === 'object' && body !== null ? (body as Record<string, unknown>).name : undefined;

export const oneSpanPlatform = definePlatform({
  kind: 'onespan',
  config: oneSpanConfig,
  instancesToken: ONESPAN_PLATFORMS,
  module: (config) => OneSpanModule.forRoot(config),
  callbacks: [
    { route: 'onespan', actions: ONESPAN_CALLBACK_EVENTS, actionOf: eventOf },
    { route: 'conga', actions: ONESPAN_CALLBACK_EVENTS, actionOf: eventOf },
  ],
});
