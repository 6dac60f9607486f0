import { definePlatform } from '../platform-definition';
import { callbackAction, LEGALESIGN_CALLBACK_ACTIONS } from './legalesign-callback.parser';
import { legalesignConfig } from './legalesign.config';
import { LegalesignModule } from './legalesign.module';
import { LEGALESIGN_PLATFORMS } from './legalesign.tokens';

/** A batch of thousands of changes is about 150 bytes a change, form-encoded. */
const MAX_BATCH_BODY_BYTES = 16 * 1024 * 1024;

export const legalesignPlatform = definePlatform({
  kind: 'legalesign',
  config: legalesignConfig,
  instancesToken: LEGALESIGN_PLATFORMS,
  module: (config) => LegalesignModule.forRoot(config),
  callbacks: [
    {
      route: 'legalesign',
      actions: LEGALESIGN_CALLBACK_ACTIONS,
      actionOf: (_query, body) => callbackAction(body),
      maxBodyBytes: MAX_BATCH_BODY_BYTES,
    },
  ],
});
