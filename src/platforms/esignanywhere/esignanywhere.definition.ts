import { definePlatform } from '../platform-definition';
import { ESAW_CALLBACK_ACTIONS, ESIGNANYWHERE } from './esignanywhere-callback.parser';
import { esignAnywhereConfig } from './esignanywhere.config';
import { ESIGNANYWHERE_INSTANCES, EsignAnywhereModule } from './esignanywhere.module';

export const esignAnywherePlatform = definePlatform({
  kind: ESIGNANYWHERE,
  config: esignAnywhereConfig,
  instancesToken: ESIGNANYWHERE_INSTANCES,
  module: (config) => EsignAnywhereModule.forRoot(config),
  callbacks: [
    {
      route: ESIGNANYWHERE,
      actions: ESAW_CALLBACK_ACTIONS,
      actionOf: (query) => (query as Record<string, unknown> | undefined)?.action,
    },
  ],
});
