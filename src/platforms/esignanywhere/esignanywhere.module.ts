import { Module, type DynamicModule } from '@nestjs/common';
import { serviceConfig, tokensConfig } from '../../config/config.schema';
import type { ServiceConfig, TokensConfig } from '../../config/app-config';
import { IntakeModule } from '../../intake/intake.module';
import { CALL_BUDGETS, type CallBudgets } from '../call-budget';
import { OAuthStateRepository } from '../../senders/oauth-state.repository';
import { SendersModule } from '../../senders/senders.module';
import { BeforeSendController } from './consent/before-send.controller';
import { BrowserBinding } from './consent/browser-binding';
import { ConsentConfiguredGuard } from './consent/consent-configured.guard';
import { ConsentExceptionFilter } from './consent/consent-exception.filter';
import { CONSENT_SETTINGS, consentSettingsFromConfig } from './consent/consent-settings';
import { ConsentController } from './consent/consent.controller';
import { ConsentReadiness } from './consent/consent-readiness';
import { ConsentService } from './consent/consent.service';
import { EsignAnywhereCallbackController } from './esignanywhere-callback.controller';
import { EsignAnywhereCallbackGuard } from './esignanywhere-callback.guard';
import { EsignAnywhereClient } from './esignanywhere.client';
import {
  esignAnywhereClientOptions,
  esignAnywhereConfig,
  type EsignAnywhereConfig,
} from './esignanywhere.config';
import { EsignAnywherePlatform } from './esignanywhere.platform';

/** DI token: this kind's adapters (one instance). */
export const ESIGNANYWHERE_INSTANCES = Symbol('ESIGNANYWHERE_INSTANCES');

/**
 * eSignAnyWhere: its callback endpoint, API client and adapter, and the before-send consent pages
 * through which senders grant the service their API token.
 */
@Module({})
export class EsignAnywhereModule {
  static forRoot(config: EsignAnywhereConfig): DynamicModule {
    return {
      module: EsignAnywhereModule,
      imports: [IntakeModule, SendersModule],
      controllers: [EsignAnywhereCallbackController, BeforeSendController, ConsentController],
      providers: [
        { provide: esignAnywhereConfig.KEY, useValue: config },
        {
          provide: EsignAnywhereClient,
          inject: [CALL_BUDGETS],
          useFactory: (budgets: CallBudgets) =>
            new EsignAnywhereClient(
              esignAnywhereClientOptions(
                config,
                budgets.forInstance('esignanywhere', config.ESAW_CALLS_PER_MINUTE),
              ),
            ),
        },
        EsignAnywherePlatform,
        {
          provide: ESIGNANYWHERE_INSTANCES,
          inject: [EsignAnywherePlatform],
          useFactory: (platform: EsignAnywherePlatform) => [platform],
        },
        EsignAnywhereCallbackGuard,
        {
          provide: CONSENT_SETTINGS,
          inject: [serviceConfig.KEY, tokensConfig.KEY],
          useFactory: (service: ServiceConfig, tokens: TokensConfig) =>
            consentSettingsFromConfig({ ...config, ...service, ...tokens }),
        },
        ConsentConfiguredGuard,
        ConsentExceptionFilter,
        BrowserBinding,
        OAuthStateRepository,
        ConsentService,
        ConsentReadiness,
      ],
      exports: [ESIGNANYWHERE_INSTANCES, EsignAnywhereClient],
    };
  }
}
