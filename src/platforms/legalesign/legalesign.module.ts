import { Module, type DynamicModule } from '@nestjs/common';
import { IntakeModule } from '../../intake/intake.module';
import { CALL_BUDGETS, type CallBudgets } from '../call-budget';
import { LegalesignCallbackController } from './legalesign-callback.controller';
import { LegalesignCallbackGuard } from './legalesign-callback.guard';
import { LegalesignClient } from './legalesign.client';
import { legalesignConfig, legalesignInstance, type LegalesignConfig } from './legalesign.config';
import { LegalesignPlatform } from './legalesign.platform';
import { LEGALESIGN_INSTANCE, LEGALESIGN_PLATFORMS } from './legalesign.tokens';

/** Legalesign: its callback endpoint, client and adapter, when LEGALESIGN_API_KEY is set. */
@Module({})
export class LegalesignModule {
  static forRoot(config: LegalesignConfig): DynamicModule {
    const instance = legalesignInstance(config);
    return {
      module: LegalesignModule,
      imports: [IntakeModule],
      controllers: instance ? [LegalesignCallbackController] : [],
      providers: [
        { provide: legalesignConfig.KEY, useValue: config },
        { provide: LEGALESIGN_INSTANCE, useValue: instance },
        LegalesignCallbackGuard,
        {
          provide: LEGALESIGN_PLATFORMS,
          inject: [CALL_BUDGETS],
          useFactory: (budgets: CallBudgets) =>
            instance
              ? [
                  new LegalesignPlatform(
                    instance,
                    new LegalesignClient({
                      instance,
                      connectTimeoutMs: config.LEGALESIGN_CONNECT_TIMEOUT_MS,
                      responseTimeoutMs: config.LEGALESIGN_RESPONSE_TIMEOUT_MS,
                      idleTimeoutMs: config.LEGALESIGN_IDLE_TIMEOUT_MS,
                      maxRetries: config.LEGALESIGN_MAX_RETRIES,
                      budget: budgets.forInstance(instance.name, config.LEGALESIGN_CALLS_PER_MINUTE),
                    }),
                  ),
                ]
              : [],
        },
      ],
      exports: [LEGALESIGN_PLATFORMS],
    };
  }
}
