import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { CALL_BUDGETS, CallBudgets } from './call-budget';
import { esignAnywherePlatform } from './esignanywhere/esignanywhere.definition';
import { legalesignPlatform } from './legalesign/legalesign.definition';
import { oneSpanPlatform } from './onespan/onespan.definition';
import type { PlatformDefinition } from './platform-definition';
import { SIGNING_PLATFORMS, type SigningPlatform } from './signing-platform';

/**
 * Every platform kind the service can archive from: the one registration list. Adding a platform is
 * a folder under `platforms/` and one line here.
 */
export const PLATFORMS: readonly PlatformDefinition[] = [
  esignAnywherePlatform,
  oneSpanPlatform,
  legalesignPlatform,
];

/** The platforms' modules, and their adapters by instance name under `SIGNING_PLATFORMS`. */
@Global()
@Module({})
export class PlatformsModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: PlatformsModule,
      imports: PLATFORMS.map((p) => p.module(config.platforms[p.kind])),
      providers: [
        { provide: CALL_BUDGETS, useClass: CallBudgets },
        {
          provide: SIGNING_PLATFORMS,
          inject: PLATFORMS.map((p) => p.instancesToken),
          useFactory: (...instances: SigningPlatform[][]) => {
            const byName = new Map<string, SigningPlatform>();
            for (const platform of instances.flat()) {
              if (byName.has(platform.name))
                throw new Error(`two platform instances are named ${platform.name}`);
              byName.set(platform.name, platform);
            }
            return byName;
          },
        },
      ],
      exports: [SIGNING_PLATFORMS, CALL_BUDGETS],
    };
  }
}
