import { Module, type DynamicModule } from '@nestjs/common';
import { IntakeModule } from '../../intake/intake.module';
import { CALL_BUDGETS, type CallBudgets } from '../call-budget';
import { OneSpanCallbackController } from './onespan-callback.controller';
import { OneSpanCallbackGuard } from './onespan-callback.guard';
import { OneSpanClient } from './onespan.client';
import { oneSpanConfig, oneSpanInstances, type OneSpanConfig } from './onespan.config';
import { OneSpanPlatform } from './onespan.platform';
import { ONESPAN_INSTANCES_BY_ROUTE, ONESPAN_PLATFORMS } from './onespan.tokens';

/** OneSpan Sign and Conga Sign: their callback endpoints, clients and adapters, one per configured instance. */
@Module({})
export class OneSpanModule {
  static forRoot(config: OneSpanConfig): DynamicModule {
    const instances = oneSpanInstances(config);
    return {
      module: OneSpanModule,
      imports: [IntakeModule],
      controllers: instances.length > 0 ? [OneSpanCallbackController] : [],
      providers: [
        { provide: oneSpanConfig.KEY, useValue: config },
        { provide: ONESPAN_INSTANCES_BY_ROUTE, useValue: new Map(instances.map((i) => [i.name, i])) },
        OneSpanCallbackGuard,
        {
          provide: ONESPAN_PLATFORMS,
          inject: [CALL_BUDGETS],
          useFactory: (budgets: CallBudgets) =>
            instances.map(
              (instance) =>
                new OneSpanPlatform(
                  instance,
                  new OneSpanClient({
                    instance,
                    connectTimeoutMs: config.ONESPAN_CONNECT_TIMEOUT_MS,
                    responseTimeoutMs: config.ONESPAN_RESPONSE_TIMEOUT_MS,
                    idleTimeoutMs: config.ONESPAN_IDLE_TIMEOUT_MS,
                    maxRetries: config.ONESPAN_MAX_RETRIES,
                    budget: budgets.forInstance(instance.name, instance.callsPerMinute),
                  }),
                  {
                    deleteMode: config.ONESPAN_DELETE_MODE,
                    auditJson: config.ONESPAN_AUDIT_JSON,
                    consentDocument: config.ONESPAN_CONSENT_DOCUMENT,
                  },
                ),
            ),
        },
      ],
      exports: [ONESPAN_PLATFORMS],
    };
  }
}
